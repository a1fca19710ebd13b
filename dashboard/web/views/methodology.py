"""The methodology page: what the current version of ``default`` changed (old → new, with sources, and by how much
for the team's own fleet over the last 30 days), how far history has been re-estimated, then docs/methodology.md,
rendered, next to the factor versions in use."""

from functools import cache
from typing import NamedTuple

import markdown
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe

import estimator
from dashboard.footprint import comparison
from dashboard.teams.scoping import current_team

METHODOLOGY_DOC = settings.BASE_DIR / "docs" / "methodology.md"


class Change(NamedTuple):
    what: str
    old: str
    new: str
    source: str


# What each version of ``default`` changed against the one before; from docs/research/model-2.0-plan.md and
# model-2.0-sources.md (every figure there carries its source and year).
CHANGES: dict[str, tuple[Change, ...]] = {
    "2.0.0": (
        Change(
            "GPU idle power",
            "CCF's minimum watts per GPU (A10G 18 W, T4 8 W, L4 8.6 W)",
            "the parked idle of a GPU holding a loaded model, the floor of an endpoint variant (A10G 60 W, "
            "T4 23.5 W, L4 27.5 W, L40S 96 W, H100 70.5 W); bare idle (no CUDA context) is the low end of the range",
            "nvidia-smi snapshots (issue 14 methodology reference); arXiv 2605.23918 (the 26–50 W context step)",
        ),
        Change(
            "A10G board power (ml.g5)",
            "153 W, the 150 W A10's figure",
            "300 W, the power limit the g5's A10G runs at",
            "nvidia-smi on g5 (S. Prasanna's AWS gist); NVIDIA A10G, gpu_power_v2.csv",
        ),
        Change(
            "CPU host power",
            "CCF per-vCPU SPECpower watts plus a flat 0.392 W/GB of memory",
            "whole-instance watts at 0/10/50/100 % from Teads' measurements (CPU package, RAM, platform); "
            "unmeasured families from their nearest measured sibling, GPU and Neuron hosts scaled by the Teads fit",
            "Teads AWS EC2 carbon-footprint dataset (B. Davy, 2021), via ccf-coefficients aws-instances.csv",
        ),
        Change(
            "Graviton",
            "a Graviton vCPU costed like an x86 hyperthread",
            "per physical core (a Graviton vCPU is a core): c6g.xlarge 4.05 W per vCPU at 100 %, against m5's 10.0 "
            "per hyperthread; Graviton3 and 4 from their measured Graviton2 sibling, flagged",
            "Teads' c6g, m6g and r6g measurements (2021)",
        ),
        Change(
            "Embodied carbon share",
            "the instance's vCPU share of its host (ml.g5.2xlarge 4 %)",
            "the larger of its vCPU share and its GPU/accelerator share (ml.g5.2xlarge 12.5 %)",
            "CCF embodied coefficients; ccf-coefficients aws-instances-latest-2026.csv (b0032d92) for new families",
        ),
        Change(
            "PUE",
            "a flat 1.15 everywhere",
            "AWS's 2024 PUE per region (1.07 ap-southeast-4 to 1.46 ap-south-2); 1.15, the global figure, where "
            "AWS publishes none (flagged)",
            "AWS sustainability data via GSF real-time-cloud Cloud_Region_Metadata.csv (b2858aa2300a, 2026)",
        ),
        Change(
            "Location-based grid factors",
            "US regions by state (us-east-1 Virginia 0.245 kg/kWh)",
            "US regions by eGRID subregion (us-east-1 SRVC 0.270, us-east-2 RFCW 0.416, us-west-1 CAMX 0.195, "
            "us-west-2 NWPP 0.288); ca-central-1 Quebec 0.031; national factors elsewhere",
            "EPA eGRID2023 rev. 2; Electricity Maps CA-QC 2024 via GSF; Ember 2023 via Our World in Data",
        ),
        Change(
            "Market-based CO2e (new)",
            "none",
            "co2e_market_kg beside the location-based figure: 0 in the 21 regions AWS reports as 100 % matched "
            "by renewable energy, the location factor elsewhere (no residual mix available), flagged",
            "AWS via GSF real-time-cloud (provider market intensity, 2024/2023); GHG Protocol Scope 2 Guidance",
        ),
        Change(
            "Instance catalog",
            "173 of the 277 SageMaker hosting types at its release (the fleet table below runs 1.0.0's formulas on "
            "today's catalog, so it leaves this change out)",
            "all 277 of botocore's ProductionVariantInstanceType enum, incl. g7, g7e, p5e, p5en, p6-b200, p6-b300, "
            "p6e-gb200, trn2 and dl1; no type falls back to the unknown-type row",
            "botocore 1.44.8 service-2.json; ccf-coefficients aws-instances-latest-2026.csv; sagemaker-hyperpod-cli",
        ),
    ),
}


@cache
def methodology_html() -> str:
    # Our own, checked-in document (not user input), so its HTML can be trusted.
    return markdown.markdown(METHODOLOGY_DOC.read_text(), extensions=["tables", "toc", "fenced_code"])


def methodology(request: HttpRequest) -> HttpResponse:
    versions = {name: method.version for name, method in estimator.METHODOLOGIES.items()}
    document = mark_safe(methodology_html())  # noqa: S308 - our own checked-in document, see methodology_html
    previous, current = comparison.compared_pair()
    team = current_team(request)
    teams = [team] if team else []
    context = {
        "document": document,
        "versions": versions,
        "previous": comparison.label(previous),
        "current": comparison.label(current),
        "current_version": current.version,
        "changes": CHANGES.get(current.version, ()),
        "team": team,
        "comparison": None,
        "progress": None,
    }
    if team is not None:
        context["progress"] = comparison.reestimation_progress(teams)
        if context["progress"].hours:
            context["comparison"] = comparison.compare_versions(
                teams, timezone.now().date(), previous=previous, current=current
            )
    context["same_version"] = comparison.same(previous, current)
    return render(request, "dashboard/methodology.html", context)
