"""Recommendations computed from a team's own history, and the team's policy that tunes the rules.

Wattson never changes a customer's account: a recommendation carries the AWS CLI command that would apply it.
"""

import re

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TeamPolicy(models.Model):
    """Thresholds and lookbacks of the recommendation rules for one team (docs/methodology.md, "Recommendations"),
    and the CPU and GPU limits under which idleness is corroborated, for alerts, digests and recommendations alike
    (``dashboard.recommend.policy.idle_policy``; edited on the Alerts page)."""

    team = models.OneToOneField("teams.Team", on_delete=models.CASCADE, related_name="policy")
    lookback_days = models.PositiveSmallIntegerField(
        default=14, validators=[MinValueValidator(1), MaxValueValidator(90)]
    )
    min_hours = models.PositiveSmallIntegerField(default=30, help_text="Hours of data a sizing rule needs")
    idle_days = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1)], help_text="No invocation for this many days: idle"
    )
    idle_max_cpu_pct = models.FloatField(default=5.0, help_text="Corroboration: p95 CPU must stay under this")
    idle_max_gpu_pct = models.FloatField(default=5.0, help_text="Corroboration: p95 GPU must stay under this")
    cpu_p95_max_pct = models.FloatField(default=40.0, help_text="Over-provisioned below this p95 CPU")
    gpu_p95_max_pct = models.FloatField(default=40.0, help_text="Over-provisioned below this p95 GPU")
    memory_p95_max_pct = models.FloatField(default=60.0, help_text="Over-provisioned below this p95 memory")
    headroom_pct = models.FloatField(default=30.0, help_text="Spare capacity kept above the p95 load")
    busy_pct = models.FloatField(default=80.0, help_text="Under-provisioned: p95 above this …")
    busy_hours_pct = models.FloatField(default=25.0, help_text="… in at least this share of hours")
    gpu_unused_pct = models.FloatField(default=10.0, help_text="GPU barely used below this p95")
    active_hours_max_pct = models.FloatField(default=25.0, help_text="Intermittent: traffic in fewer hours")
    min_instances = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="Keep at least this many instances per variant"
    )
    consolidation_max_invocations_per_hour = models.FloatField(
        default=36000.0, help_text="Consolidation: low traffic is under this many inferences per hour (10 a second)"
    )
    allowed_regions = models.JSONField(
        default=list, blank=True, help_text="Regions the team may move to; empty turns the region rule off"
    )
    log_retention_days = models.PositiveIntegerField(default=30, help_text="Longest retention the team wants")
    log_min_bytes = models.BigIntegerField(default=1 << 30, help_text="Log groups smaller than this are skipped")
    capture_min_bytes = models.BigIntegerField(default=1 << 30, help_text="Capture prefixes smaller are skipped")
    capture_sampling_pct = models.PositiveSmallIntegerField(default=10, help_text="Sampling rate to propose")
    capture_expiry_days = models.PositiveIntegerField(default=30, help_text="Expiry proposed for capture data")
    training_gpu_low_pct = models.FloatField(
        default=30.0, help_text="Training: a job family whose p95 GPU stays under this is under-using its GPUs"
    )
    tuning_max_parallel = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(1)], help_text="Tuning: parallel training jobs above this are many"
    )
    working_hours = models.CharField(
        max_length=5, default="08-19", help_text="Notebooks and Studio apps: working hours (UTC, HH-HH)"
    )
    working_days = models.CharField(max_length=7, default="mon-fri", help_text="Working days, e.g. mon-fri")

    class Meta:
        db_table = "dashboard_teampolicy"  # the table it had in the dashboard app (docs/adr/0008)
        verbose_name = "team policy"
        verbose_name_plural = "team policies"

    def __str__(self) -> str:
        return f"Recommendation policy of {self.team}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from collectors.regions import COMMERCIAL_REGIONS

        unknown = sorted(set(self.allowed_regions or []) - set(COMMERCIAL_REGIONS))
        if unknown:
            raise ValidationError({"allowed_regions": f"Unknown AWS region(s): {', '.join(unknown)}"})
        if not re.fullmatch(r"([01][0-9]|2[0-4])-([01][0-9]|2[0-4])", self.working_hours or ""):
            raise ValidationError({"working_hours": "Working hours are HH-HH in UTC, e.g. 08-19 (22-06 for nights)."})
        days = [part.strip() for chunk in (self.working_days or "").lower().split(",") for part in chunk.split("-")]
        if not all(day in WEEKDAYS for day in days):
            raise ValidationError({"working_days": "Working days are a range or list of mon … sun, e.g. mon-fri."})


class Recommendation(models.Model):
    class Kind(models.TextChoices):
        IDLE = "idle", "Idle endpoint"
        OVERPROVISIONED = "overprovisioned", "Over-provisioned"
        UNDERPROVISIONED = "underprovisioned", "Under-provisioned (performance risk)"
        INTERMITTENT = "intermittent", "Intermittent traffic"
        SCALE_TO_ZERO = "scale-to-zero", "Scale to zero"
        GPU_UNUSED = "gpu-unused", "GPU barely used"
        SILICON = "silicon", "More efficient silicon"
        CONSOLIDATION = "consolidation", "Consolidate endpoints"
        REGION = "region", "Lower-carbon region"
        LOG_RETENTION = "log-retention", "Log retention"
        CAPTURE_SAMPLING = "capture-sampling", "Data-capture sampling"
        CAPTURE_LIFECYCLE = "capture-lifecycle", "Data-capture lifecycle"
        TRAINIUM = "trainium", "Train on Trainium"
        MANAGED_SPOT = "managed-spot", "Managed Spot training"
        TUNING_STRATEGY = "tuning-strategy", "Bayesian tuning"
        TUNING_PARALLEL = "tuning-parallel", "Fewer parallel tuning jobs"
        TUNING_WARM_START = "tuning-warm-start", "Warm-start tuning"
        TRAINING_GPU_LOW = "training-gpu-low", "Training GPU barely used"
        NOTEBOOK_IDLE = "notebook-idle", "Idle notebook instance"
        STUDIO_APP_IDLE = "studio-app-idle", "Idle Studio app"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Dismissed"
        SNOOZED = "snoozed", "Snoozed"
        RESOLVED = "resolved", "Resolved"  # the configuration changed as proposed
        WITHDRAWN = "withdrawn", "No longer applies"  # the evidence changed (traffic, data, policy)

    class Confidence(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="recommendations")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    subject = models.CharField(max_length=1200, help_text="What it is about; with kind, its identity")
    account = models.ForeignKey("collectors.AwsAccount", on_delete=models.CASCADE, related_name="+")
    region = models.CharField(max_length=32)
    endpoint = models.ForeignKey(
        "collectors.Endpoint", on_delete=models.CASCADE, null=True, blank=True, related_name="recommendations"
    )
    variant_name = models.CharField(max_length=63, blank=True)
    workload = models.ForeignKey(
        "collectors.Workload", on_delete=models.CASCADE, null=True, blank=True, related_name="recommendations"
    )
    title = models.CharField(max_length=300)
    proposal = models.TextField(help_text="The proposed change, in words")
    proposed = models.JSONField(default=dict, help_text="The proposed configuration, for automatic resolution")
    evidence = models.JSONField(default=dict, help_text="Metric summary the rule saw")
    evidence_hours = models.PositiveIntegerField(default=0)
    evidence_start = models.DateTimeField(null=True)  # the first instant the evidence covers
    evidence_end = models.DateTimeField(null=True)  # exclusive: an hour rule's last hour's end, a storage rule's
    # midnight after its last snapshot day
    monthly_kwh_saved = models.FloatField()
    monthly_co2e_kg_saved = models.FloatField()
    monthly_co2e_kg_saved_low = models.FloatField()
    monthly_co2e_kg_saved_high = models.FloatField()
    monthly_usd_saved = models.FloatField(null=True, help_text="Null where no price is known")
    monthly_usd_saved_billed = models.FloatField(
        null=True,
        help_text="The saving at the endpoint's billed rate (net amortized ÷ on-demand, last 30 days of its account's "
        "cost export); null without billed lines",
    )
    confidence = models.CharField(max_length=8, choices=Confidence.choices)
    caveats = models.TextField(blank=True)
    cli_command = models.TextField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    dismissed_reason = models.TextField(blank=True)
    snoozed_until = models.DateField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    first_seen = models.DateTimeField()
    computed_at = models.DateTimeField()

    class Meta:
        db_table = "dashboard_recommendation"  # the table it had in the dashboard app (docs/adr/0008)
        ordering = ["-monthly_co2e_kg_saved"]
        constraints = [models.UniqueConstraint(fields=["team", "kind", "subject"], name="one_recommendation_each")]
        indexes = [models.Index(fields=["team", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"

    @property
    def evidence_window(self) -> str:
        """What the rule looked at, in words (``dashboard.recommend.evidence``): snapshot days or an hour window."""
        from dashboard.recommend.evidence import evidence_window  # noqa: PLC0415 - evidence imports this module

        return evidence_window(self)


# The kinds whose evidence is daily snapshots of stored bytes (log groups, capture prefixes), not hours.
STORAGE_KINDS = frozenset(
    {Recommendation.Kind.LOG_RETENTION, Recommendation.Kind.CAPTURE_SAMPLING, Recommendation.Kind.CAPTURE_LIFECYCLE}
)
