"""Recommendations: the team's list, grouped by kind or endpoint and paged, filterable and sortable by kg CO2e or
dollars, with one honest total (``dashboard.recommend.totals``), and dismiss / snooze / reopen."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_POST

from collectors.models import AwsAccount, Endpoint
from dashboard.footprint.filters import ACCOUNT_ID, TEAM_MAX, TEAM_MESSAGE, TEAM_TAG, UNTAGGED, team_tags
from dashboard.recommend.models import Recommendation
from dashboard.recommend.totals import MINOR_CO2E_KG, MINOR_USD, savings_total, split_minor
from dashboard.teams.scoping import current_team, get_for_team_or_404
from dashboard.web.tables import Column, Table, csv_response

Status = Recommendation.Status
SORTS = {"co2e": "-monthly_co2e_kg_saved", "usd": "-monthly_usd_saved", "kwh": "-monthly_kwh_saved"}
# The list is sorted (largest saving first) before it is grouped and paged, so only these columns' headers sort
# it; a header link asks ``-co2e``, the same order as ``co2e``. Other columns would sort one page only: not
# sortable (``sortable=False`` in ``table``).
SORT_SYNONYMS = {f"-{name}": name for name in SORTS}
GROUPS = {"kind": "Kind", "endpoint": "Endpoint"}
PAGE_SIZE = 20  # recommendations (cards and table rows) a page shows; the minor line is on every page
MAX_REASON = 500
ANY = "any"  # the status menu's "Any": every status (kept in the URL, so paging keeps it)
PROPOSED = (Status.OPEN, Status.RESOLVED)  # statuses whose savings are, or were made, real: "save", not "would"


def chart_link(rec: Recommendation) -> str:
    """The endpoint's charts over the days the recommendation is based on (its window's last instant included)."""
    if not rec.endpoint_id:
        return ""
    url = reverse("endpoint", args=[rec.endpoint_id])
    if rec.evidence_start and rec.evidence_end:
        last = max(rec.evidence_start, rec.evidence_end - dt.timedelta(seconds=1))  # the end is exclusive
        return f"{url}?period=custom&from={rec.evidence_start:%Y-%m-%d}&to={last:%Y-%m-%d}"
    return url


def parse_page(raw: str) -> tuple[int, str]:
    """The page number asked for (1 when absent) and an error when it is not a whole number from 1."""
    if not raw:
        return 1, ""
    if raw.isascii() and raw.isdigit() and int(raw) >= 1:
        return int(raw), ""
    return 1, "Page must be a whole number from 1."


def parse(query, teams: set[str]) -> tuple[dict, dict]:
    """Validated filters (kind, status, account, team tag, sort, group, page); bad values are named, defaults used.
    ``teams``: the team tags of the team's endpoints, the choices of the team menu."""
    errors, chosen = {}, {}
    for name, allowed, default in (
        ("kind", Recommendation.Kind.values, ""),
        ("status", [*Status.values, ANY], "open"),
        ("sort", list(SORTS), "co2e"),
        ("group", list(GROUPS), "kind"),
    ):
        value = query.get(name, default) or (ANY if name == "status" else default)  # "status=" (menu "Any")
        value = SORT_SYNONYMS.get(value, value) if name == "sort" else value
        if value and value not in allowed:
            errors[name] = f"{name.capitalize()} must be one of {', '.join(allowed)}."
            value = default
        chosen[name] = value
    account = query.get("account", "")
    if account and not ACCOUNT_ID.match(account):
        errors["account"], account = "An AWS account id is 12 digits.", ""
    team = query.get("team", "").strip()[:TEAM_MAX]
    if team and team not in teams:
        errors["team"], team = TEAM_MESSAGE % {"value": team}, ""
    chosen["account"], chosen["team"] = account, team
    chosen["page"], page_error = parse_page(query.get("page", ""))
    if page_error:
        errors["page"] = page_error
    chosen["rec"], rec_error = parse_page(query.get("rec", ""))
    if rec_error or "rec" not in query:
        chosen["rec"] = None
    if rec_error:
        errors["rec"] = "Rec is the number of a recommendation (as in #rec-12)."
    return chosen, errors


def listing(team, chosen: dict) -> list[Recommendation]:
    recs = Recommendation.objects.filter(team=team).select_related("endpoint", "account")
    if chosen["status"] != ANY:
        recs = recs.filter(status=chosen["status"])
    if chosen["kind"]:
        recs = recs.filter(kind=chosen["kind"])
    if chosen["account"]:
        recs = recs.filter(account__account_id=chosen["account"])
    rows = list(recs.order_by(SORTS[chosen["sort"]], "-monthly_co2e_kg_saved", "pk"))
    if chosen["sort"] == "usd":  # unknown prices last, not first
        rows.sort(key=lambda r: (r.monthly_usd_saved is None, -(r.monthly_usd_saved or 0)))
    if chosen["team"]:
        rows = [r for r in rows if r.endpoint and (r.endpoint.tags or {}).get(TEAM_TAG, UNTAGGED) == chosen["team"]]
    return rows


def group_of(rec: Recommendation, by: str) -> tuple[str, str]:
    """(key, heading) of the group ``rec`` is shown in, grouping ``by`` kind or endpoint."""
    if by == "kind":
        return rec.kind, rec.get_kind_display()
    if rec.endpoint is not None:
        return f"endpoint-{rec.endpoint_id}", rec.endpoint.name
    if rec.kind == Recommendation.Kind.CONSOLIDATION:
        return "several", "Several endpoints (consolidation)"
    return "none", "No endpoint (log groups, capture buckets)"


@dataclass
class Group:
    """The recommendations of one group on this page; ``size`` counts the group on every page."""

    key: str
    heading: str
    size: int = 0
    recs: list[Recommendation] = field(default_factory=list)
    continued: bool = False  # the group started on an earlier page


def in_groups(rows: list[Recommendation], by: str) -> list[Recommendation]:
    """``rows`` reordered so each group is together, groups in the order their first (best-sorted) row came."""
    order: dict[str, list[Recommendation]] = {}
    for rec in rows:
        order.setdefault(group_of(rec, by)[0], []).append(rec)
    return [rec for recs in order.values() for rec in recs]


def pages_of(count: int) -> int:
    return max(1, -(-count // PAGE_SIZE))


def page_groups(ordered: list[Recommendation], by: str, page: int) -> list[Group]:
    """The groups of page ``page`` (1-based, in range) of ``ordered`` (from ``in_groups``)."""
    sizes: dict[str, int] = {}
    for rec in ordered:
        key = group_of(rec, by)[0]
        sizes[key] = sizes.get(key, 0) + 1
    start = (page - 1) * PAGE_SIZE
    groups: dict[str, Group] = {}
    for index, rec in enumerate(ordered[start : start + PAGE_SIZE], start):
        key, heading = group_of(rec, by)
        continued = index > 0 and group_of(ordered[index - 1], by)[0] == key
        group = groups.setdefault(key, Group(key, heading, sizes[key], continued=continued))
        group.recs.append(rec)
    return list(groups.values())


HOLDS = {
    Status.OPEN: "Open recommendations",
    Status.DISMISSED: "Dismissed recommendations",
    Status.SNOOZED: "Snoozed recommendations",
    Status.RESOLVED: "Resolved recommendations",
    Status.WITHDRAWN: "Recommendations that no longer apply",
    ANY: "Recommendations of any status",
}


def shown_as(status: str) -> tuple[str, str]:
    """(what the list holds, its verb) for the status filter: ("Resolved recommendations", "save")."""
    return HOLDS[status], "save" if status in PROPOSED else "would save"


def table(rows: list[Recommendation], title: str = "Recommendations") -> Table:
    records = [
        {
            "id": r.pk,
            "title": r.title,
            "kind": r.get_kind_display(),
            "endpoint": r.endpoint.name if r.endpoint else "",
            "endpoint_id": r.endpoint_id,
            "account": r.account.account_id,
            "region": r.region,
            "kwh": r.monthly_kwh_saved,
            "co2e": r.monthly_co2e_kg_saved,
            "low": r.monthly_co2e_kg_saved_low,
            "high": r.monthly_co2e_kg_saved_high,
            "usd": r.monthly_usd_saved,
            "confidence": r.get_confidence_display(),
            "status": r.get_status_display(),
        }
        for r in rows
    ]
    # The figures people decide on (CO2e, dollars, confidence, status) come right after what and where, so they
    # stay in view on a laptop screen; the range, energy, account and region follow.
    columns = [
        Column("title", "Recommendation", link=lambda row: f"#rec-{row['id']}", css="wrap", sortable=False),
        Column("kind", "Kind", sortable=False),
        Column(
            "endpoint",
            "Endpoint",
            link=lambda row: reverse("endpoint", args=[row["endpoint_id"]]) if row["endpoint_id"] else "",
            sortable=False,
        ),
        Column("co2e", "kg CO2e / month saved", 2),
        Column("usd", "USD / month saved", 0, help="At list price; — where no price is known"),
        Column("confidence", "Confidence", sortable=False),
        Column("status", "Status", sortable=False),
        Column("low", "low", 2, help="kg CO2e / month saved, low end of the range", sortable=False),
        Column("high", "high", 2, help="kg CO2e / month saved, high end of the range", sortable=False),
        Column("kwh", "kWh / month saved", 1),
        Column("account", "Account", sortable=False),
        Column("region", "Region", sortable=False),
    ]
    return Table(
        "recommendations",
        title,
        columns,
        records,
        empty="Nothing here. Recommendations are re-computed every hour from the collected history.",
    )


def sorted_as(shown: Table, chosen: dict, filters: dict) -> Table:
    """The table marked as ordered by the chosen sort (largest first), its header links keeping the filters."""
    shown.sorted_by, shown.descending = chosen["sort"], True
    shown.link_params = {name: value for name, value in filters.items() if name != "sort"}
    return shown


def team_choices(team) -> list[str]:
    """The team tags of the team's endpoints, as the other pages' team menus list them."""
    return sorted(team_tags(Endpoint.objects.filter(account__team=team).values("tags"))) if team else []


def page_holding(pk: int, ordered: list[Recommendation], minor: list[Recommendation]) -> int | None:
    """The page showing recommendation ``pk`` (0: the minor line), None when the list does not hold it. A link
    from elsewhere (a digest, an endpoint) asks ``?rec=<pk>#rec-<pk>`` and lands where its card is."""
    for index, rec in enumerate(ordered):
        if rec.pk == pk:
            return index // PAGE_SIZE + 1
    return 0 if any(rec.pk == pk for rec in minor) else None


def page_context(rows: list[Recommendation], chosen: dict, errors: dict) -> dict:
    """What the page shows of ``rows``: the total, the minor line and this page's groups."""
    major, minor = split_minor(rows)
    ordered = in_groups(major, chosen["group"])
    pages = pages_of(len(ordered))
    if chosen["rec"] is not None:
        holding = page_holding(chosen["rec"], ordered, minor)
        if holding is None:
            errors["rec"] = f"Recommendation {chosen['rec']} is not in this list (see its status and the filters)."
        elif holding:
            chosen["page"] = holding
    if chosen["page"] > pages:
        errors["page"] = f"Page {chosen['page']} does not exist: there {'is' if pages == 1 else 'are'} {pages}."
        chosen["page"] = pages
    groups = page_groups(ordered, chosen["group"], chosen["page"])
    shown = [rec for group in groups for rec in group.recs]
    holds, verb = shown_as(chosen["status"])
    filters = {name: value for name, value in chosen.items() if value and name not in ("page", "rec")}
    return {
        "groups": groups,
        "minor": minor,
        "minor_open": chosen["rec"] is not None and any(rec.pk == chosen["rec"] for rec in minor),
        "minor_total": savings_total(minor),
        "minor_co2e_kg": MINOR_CO2E_KG,
        "minor_usd": MINOR_USD,
        "totals": savings_total(rows),
        "holds": holds,
        "verb": verb,
        "tables": [sorted_as(table(shown, f"{holds} · page {chosen['page']} of {pages}"), chosen, filters)],
        "page": chosen["page"],
        "pages": pages,
        "query": urlencode(filters),  # a tag value may hold & or =
        "chart_links": {r.pk: chart_link(r) for r in shown},
    }


@require_GET
def recommendation_list(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    teams = team_choices(team)
    chosen, errors = parse(request.GET, set(teams))
    rows = listing(team, chosen) if team else []
    if wanted := request.GET.get("csv"):
        return csv_response([table(rows)], wanted, "wattson-recommendations")
    return render(
        request,
        "dashboard/recommendations.html",
        {
            **page_context(rows, chosen, errors),
            "chosen": chosen,
            "errors": errors,
            "kinds": Recommendation.Kind.choices,
            "statuses": Status.choices,
            "sorts": SORTS,
            "group_choices": GROUPS,
            "teams": teams,
            "accounts": AwsAccount.objects.filter(team=team).values("account_id", "name") if team else [],
            "today": timezone.now().date(),
        },
    )


@require_POST
def recommendation_action(request: HttpRequest, pk: int) -> HttpResponse:
    rec = get_for_team_or_404(Recommendation.objects.all(), "team", current_team(request), pk=pk)
    action = request.POST.get("action", "")
    if action == "dismiss":
        reason = request.POST.get("reason", "").strip()[:MAX_REASON]
        if not reason:
            messages.error(request, "Say why you dismiss it: the reason is kept for the team.")
        else:
            rec.status, rec.dismissed_reason, rec.snoozed_until = Status.DISMISSED, reason, None
            messages.success(request, f"Dismissed: {rec.title}")
    elif action == "snooze":
        try:
            until = dt.date.fromisoformat(request.POST.get("until", ""))
        except ValueError:
            until = None
        if until is None or until <= timezone.now().date():
            messages.error(request, "Snooze until a date after today (YYYY-MM-DD).")
        else:
            rec.status, rec.snoozed_until = Status.SNOOZED, until
            messages.success(request, f"Snoozed until {until}: {rec.title}")
    elif action == "reopen":
        rec.status, rec.snoozed_until, rec.dismissed_reason = Status.OPEN, None, ""
        messages.success(request, f"Reopened: {rec.title}")
    else:
        messages.error(request, "Unknown action.")
    rec.save(update_fields=["status", "dismissed_reason", "snoozed_until"])
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("recommendations")
    return redirect(target)
