"""The team's AWS accounts: list, add, and check that Wattson can reach them."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from collectors import iam
from collectors.connection import check_account
from collectors.forms import AwsAccountForm, CostExportForm
from collectors.models import AwsAccount, AwsCarbonEstimate, BilledCostDay, CarbonExportManifest, CostExportDelivery
from dashboard.teams.models import Membership
from dashboard.teams.scoping import current_team, get_for_team_or_404


def require_owner(request: HttpRequest, team) -> None:
    if team is None or not Membership.objects.filter(team=team, user=request.user, role=Membership.Role.OWNER).exists():
        raise PermissionDenied("Only a team owner can change its AWS accounts.")


@require_http_methods(["GET", "POST"])
def account_list(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    form = AwsAccountForm(team=team)
    if request.method == "POST":
        require_owner(request, team)
        form = AwsAccountForm(request.POST, team=team)
        if form.is_valid():
            account = form.save()
            messages.success(request, f"Added {account}. Create its role with the trust policy below.")
            return redirect("aws-account", pk=account.pk)
    accounts = AwsAccount.objects.filter(team=team) if team else AwsAccount.objects.none()
    return render(request, "collectors/account_list.html", {"accounts": accounts, "form": form})


def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_for_team_or_404(AwsAccount.objects.all(), "team", current_team(request), pk=pk)
    return render(request, "collectors/account_detail.html", detail_context(account, CostExportForm(instance=account)))


def detail_context(account: AwsAccount, cost_form: CostExportForm) -> dict:
    policy_bucket = {"cost_bucket": account.cost_export_bucket, "cost_prefix": account.cost_export_prefix}
    return {
        "account": account,
        "trust_policy": iam.trust_policy(settings.COLLECTOR_PRINCIPAL_ARN, account.external_id),
        "permissions_policy": iam.permissions_policy(
            **(policy_bucket if account.has_cost_export or account.has_carbon_export else {})
        ),
        "states": account.collection_states.order_by("region", "source"),
        "cost_form": cost_form,
        "deliveries": CostExportDelivery.objects.filter(account=account).order_by("-billing_period")[:13],
        "carbon_manifests": CarbonExportManifest.objects.filter(account=account).count(),
    }


@require_POST
def account_cost_export(request: HttpRequest, pk: int) -> HttpResponse:
    """Set or clear where the account's cost export is delivered (team owners only)."""
    team = current_team(request)
    account = get_for_team_or_404(AwsAccount.objects.all(), "team", team, pk=pk)
    require_owner(request, team)
    before = (account.cost_export_bucket, account.cost_export_prefix, account.cost_export_name)
    carbon_before = (account.cost_export_bucket, account.cost_export_prefix, account.carbon_export_name)
    form = CostExportForm(request.POST, instance=account)
    if not form.is_valid():
        account.refresh_from_db()  # the form wrote the refused values onto it: show what is configured
        return render(request, "collectors/account_detail.html", detail_context(account, form), status=400)
    with transaction.atomic():
        form.save()
        if (account.cost_export_bucket, account.cost_export_prefix, account.cost_export_name) != before:
            # Another export (or none): what the previous one said is no longer this account's bill.
            BilledCostDay.objects.filter(account=account).delete()
            CostExportDelivery.objects.filter(account=account).delete()
        if (account.cost_export_bucket, account.cost_export_prefix, account.carbon_export_name) != carbon_before:
            # Another CARBON_EMISSIONS export (or none): read the new one from its first delivery.
            AwsCarbonEstimate.objects.filter(account=account, origin=AwsCarbonEstimate.Origin.EXPORT).delete()
            CarbonExportManifest.objects.filter(account=account).delete()
    if account.has_cost_export:
        messages.success(request, "Cost export saved: the next collection reads it (billed cost per endpoint).")
    else:
        messages.success(request, "Cost export cleared: this account shows list cost only.")
    return redirect("aws-account", pk=account.pk)


@require_POST
def account_check(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_for_team_or_404(AwsAccount.objects.all(), "team", current_team(request), pk=pk)
    for check in check_account(account):
        level = messages.SUCCESS if check.ok else messages.ERROR
        messages.add_message(request, level, f"{check.region}: {check.message}")
    return redirect("aws-account", pk=account.pk)
