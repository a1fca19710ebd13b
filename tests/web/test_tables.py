"""Tables people can use: sorted on the server by a URL parameter (numbers as numbers, unknowns last), the
endpoint-name search, the custom date range and every bad filter value named beside its input."""

import csv
import io
import math
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.web.tables import Column, Table, sort_tables, sorted_rows
from tests.web.html import number, table
from tests.web.test_dashboard_pages import fleet  # noqa: F401 - the fixture

ENERGY = "Energy (kWh)"
GPU = "GPU (%)"


def column_of(rows: list[list[str]], label: str) -> list[str]:
    """A column's cells by its header's label (the header may carry the sort arrow after it)."""
    index = next(i for i, text in enumerate(rows[0]) if text.split(" ▲")[0].split(" ▼")[0] == label)
    return [row[index] for row in rows[1:]]


# --- the rule, on rows alone -------------------------------------------------------------------------------


@pytest.mark.parametrize("descending", [False, True])
def test_numbers_sort_as_numbers_and_unknowns_come_last_either_way(descending):
    rows = [{"n": 9}, {"n": None}, {"n": 10.5}, {"n": math.nan}, {"n": -1}]
    ordered = [row["n"] for row in sorted_rows(rows, Column("n", "N", 1), descending)]
    assert ordered[:3] == ([10.5, 9, -1] if descending else [-1, 9, 10.5])  # not "10.5" < "9" as text
    assert ordered[3] is None and math.isnan(ordered[4])  # unknowns last, in their original order


def test_text_sorts_ignoring_case():
    rows = [{"name": "beta"}, {"name": "Alpha"}, {"name": "gamma"}]
    assert [row["name"] for row in sorted_rows(rows, Column("name", "Name"), False)] == ["Alpha", "beta", "gamma"]


def test_an_unknown_sort_column_is_named_and_the_order_kept():
    rows = [{"name": "b"}, {"name": "a"}]
    first = Table("first", "First", [Column("name", "Name")], list(rows))
    second = Table("second", "Second", [Column("name", "Name")], list(rows))
    errors = sort_tables([first, second], {"sort": "-name", "second-sort": "price"}, {"period": "7d"})
    assert [row["name"] for row in first.rows] == ["b", "a"]
    assert [row["name"] for row in second.rows] == ["b", "a"]  # unchanged: the default order
    assert errors == {"second-sort": "Cannot sort by 'price'; choose one of the table's column headers."}
    # Header links keep the filters and the other table's order, and flip this table's.
    assert 'href="?period=7d&amp;sort=-name&amp;second-sort=name"' in str(second.head_html())
    assert 'aria-sort="descending"' in str(first.head_html())
    assert 'href="?period=7d&amp;sort=name"' in str(first.head_html())


# --- the pages -----------------------------------------------------------------------------------------------


def endpoints_page(client, **params) -> str:
    response = client.get(reverse("endpoints"), params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(("sort", "reverse"), [("energy_kwh", False), ("-energy_kwh", True)])
def test_the_endpoint_list_sorts_by_a_number_on_the_server(client, alice, fleet, sort, reverse):
    client.force_login(alice)
    rows = table(endpoints_page(client, sort=sort), "endpoints")
    energy = [number(text) for text in column_of(rows, ENERGY)]
    assert len(energy) == 3 and energy == sorted(energy, reverse=reverse)
    assert ('aria-sort="descending"' if reverse else 'aria-sort="ascending"') in endpoints_page(client, sort=sort)


@pytest.mark.parametrize("sort", ["gpu_util_pct", "-gpu_util_pct"])
def test_an_endpoint_without_a_gpu_sorts_last_both_ways(client, alice, fleet, sort):
    client.force_login(alice)
    rows = table(endpoints_page(client, sort=sort), "endpoints")
    gpu = column_of(rows, GPU)
    assert gpu[-1] == "—" and "—" not in gpu[:-1]
    known = [number(text) for text in gpu[:-1]]
    assert known == sorted(known, reverse=sort.startswith("-"))


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("endpoint", ["eu-scorer", "idle-gpu", "ranker"]), ("-endpoint", ["ranker", "idle-gpu", "eu-scorer"])],
)
def test_the_endpoint_list_sorts_by_name_both_ways(client, alice, fleet, sort, expected):
    client.force_login(alice)
    assert column_of(table(endpoints_page(client, sort=sort), "endpoints"), "Endpoint") == expected


def test_an_unknown_sort_column_is_named_on_the_page(client, alice, fleet):
    client.force_login(alice)
    default = column_of(table(endpoints_page(client), "endpoints"), "Endpoint")
    page = endpoints_page(client, sort="-password")
    assert "<code>sort</code>: Cannot sort by &#x27;-password&#x27;" in page
    assert column_of(table(page, "endpoints"), "Endpoint") == default


def test_the_csv_keeps_the_order_of_the_page(client, alice, fleet):
    client.force_login(alice)
    shown = column_of(table(endpoints_page(client, sort="energy_kwh"), "endpoints"), "Endpoint")
    assert "&amp;sort=energy_kwh&amp;csv=endpoints" in endpoints_page(client, sort="energy_kwh")
    download = client.get(reverse("endpoints"), {"sort": "energy_kwh", "csv": "endpoints"})
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert [row[0] for row in rows[1:]] == shown


def test_each_overview_table_sorts_by_its_own_parameter(client, alice, fleet):
    client.force_login(alice)
    params = {"group": "endpoint", "sort": "endpoint", "top-emitters-sort": "-energy_kwh"}
    response = client.get(reverse("home"), params)
    page = response.content.decode()
    assert column_of(table(page, "breakdown"), "Endpoint") == ["eu-scorer", "idle-gpu", "ranker"]
    top = [number(text) for text in column_of(table(page, "top-emitters"), ENERGY)]
    assert top == sorted(top, reverse=True)
    assert "sort" not in response.context["errors"]
    # The filter bar keeps both orders when a filter changes.
    assert '<input type="hidden" name="top-emitters-sort" value="-energy_kwh">' in page


def test_the_name_search_narrows_the_list_and_says_how_many(client, alice, fleet):
    client.force_login(alice)
    page = endpoints_page(client, q="  RANK ")
    assert column_of(table(page, "endpoints"), "Endpoint") == ["ranker"]
    assert "1 of 3 endpoints" in page
    assert 'value="RANK"' in page  # the box keeps the search
    assert "secret-endpoint" not in endpoints_page(client, q="secret")  # another team's name never matches
    assert "0 of 3 endpoints" in endpoints_page(client, q="secret")


def test_the_search_is_kept_with_the_filters_in_links_and_the_csv(client, alice, fleet):
    client.force_login(alice)
    page = endpoints_page(client, q="e", region="us-east-1")
    assert sorted(column_of(table(page, "endpoints"), "Endpoint")) == ["idle-gpu", "ranker"]
    assert "2 of 2 endpoints" in page
    assert "region=us-east-1&amp;q=e&amp;csv=endpoints" in page
    assert "region=us-east-1&amp;q=e&amp;sort=-energy_kwh" in page  # a header link
    download = client.get(reverse("endpoints"), {"q": "scorer", "csv": "endpoints"})
    assert [row[0] for row in csv.reader(io.StringIO(download.content.decode()))][1:] == ["eu-scorer"]


@pytest.mark.parametrize("url", ["home", "endpoints"])
def test_a_team_nobody_carries_is_named_beside_the_team_menu(client, alice, fleet, url):
    client.force_login(alice)
    page = client.get(reverse(url), {"team": "nobody"}).content.decode()
    assert '<p class="field-error" id="f-team-error">No endpoint has the team tag &#x27;nobody&#x27;.</p>' in page
    assert 'aria-invalid="true" aria-describedby="f-team-error"' in page
    assert "<code>team</code>" in page  # and in the list of errors under the bar


def test_the_team_menu_lists_the_team_tags_in_use_and_all_teams(client, alice, fleet):
    client.force_login(alice)
    page = client.get(reverse("endpoints"), {"team": "recsys"}).content.decode()
    assert '<option value="">All teams</option>' in page
    assert '<option value="recsys" selected>recsys</option>' in page
    assert '<option value="growth">growth</option>' in page
    assert "&lt;script&gt;alert(&#x27;tag&#x27;)&lt;/script&gt;" in page and "<script>alert(" not in page


@pytest.mark.parametrize("url", ["home", "endpoints"])
def test_a_custom_range_round_trips_through_the_filter_bar(client, alice, fleet, url):
    client.force_login(alice)
    today = timezone.now().date()
    start, end = today - timedelta(days=3), today - timedelta(days=1)
    response = client.get(reverse(url), {"period": "custom", "from": start.isoformat(), "to": end.isoformat()})
    page = response.content.decode()
    view = response.context["view"]
    assert (view.period, view.start, view.end) == ("custom", start, end)
    assert f'name="from" aria-label="From" value="{start}"' in page
    assert f'name="to" aria-label="To" value="{end}"' in page
    assert '<option value="custom" selected>Custom range</option>' in page
    assert f'<span class="range" id="view-range">{view.label}</span>' in page and f"{start:%d %b %Y}" in view.label
    assert f"from={start}&amp;to={end}" in page  # the CSV and sort links reproduce the range


def test_a_bad_range_is_named_beside_the_dates(client, alice, fleet):
    client.force_login(alice)
    page = client.get(reverse("home"), {"period": "custom", "from": "2026-05-10", "to": "2026-05-01"}).content.decode()
    assert '<p class="field-error" id="f-range-error">From: The start date is after the end date.</p>' in page
    assert '<option value="30d" selected>30d</option>' in page  # the default period is used instead


def test_a_sort_by_the_breakdown_column_follows_a_new_dimension(client, alice, fleet):
    client.force_login(alice)
    response = client.get(reverse("home"), {"group": "region", "sort": "-endpoint"})
    assert "sort" not in response.context["errors"]
    assert column_of(table(response.content.decode(), "breakdown"), "Region") == ["us-east-1", "eu-west-1"]
    unknown = client.get(reverse("home"), {"group": "region", "sort": "-nonsense"})
    assert "sort" in unknown.context["errors"]


def test_a_sort_by_a_column_the_new_breakdown_has_is_kept():
    """By endpoint the breakdown has a Region column: sorting by it stays a sort by region; a sort by the old
    dimension's column follows a change of dimension."""
    from django.http import QueryDict

    from dashboard.web.views.overview import group_choices, kept_group_sort

    choices = group_choices([])
    assert kept_group_sort(QueryDict("sort=-region&group=endpoint"), "endpoint", choices)["sort"] == "-region"
    assert kept_group_sort(QueryDict("sort=-region&group=team"), "team", choices)["sort"] == "-team"
