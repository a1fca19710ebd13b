"""One set of messages: a bad value gets the same words on a page (named, the default used) and in the API (a 400
naming the parameter), because both are checked by the pages' FilterSet form fields and rules
(``dashboard/footprint/filters.py``). Nothing here reads the wall clock: the values are bad whatever the day."""

import datetime as dt

import pytest
from django.utils.html import escape
from rest_framework.exceptions import ValidationError

from dashboard.api.params import DayField, GrainField, PeriodRules, QueryParams
from dashboard.footprint import filters
from tests.api.conftest import bearer

TODAY = dt.date(2026, 11, 20)


@pytest.mark.parametrize(
    ("page_params", "page_name", "api_url", "api_params", "api_name"),
    [
        ({"account": "12345"}, "account", "/api/v1/endpoints/", {"account_id": "12345"}, "account_id"),
        ({"account": "12345"}, "account", "/api/v1/usage/", {"account_id": "12345"}, "account_id"),
        ({"account": "12345"}, "account", "/api/v1/emissions/", {"account_id": "12345"}, "account_id"),
        ({"from": "11/20/2026"}, "from", "/api/v1/log-groups/", {"since": "11/20/2026"}, "since"),
        ({"from": "2026-13-45"}, "from", "/api/v1/storage/", {"since": "2026-13-45"}, "since"),
        ({"from": "2026-11-01", "to": "2026-W47-5"}, "to", "/api/v1/emissions/", {"end": "2026-W47-5"}, "end"),
        ({"from": "20261101"}, "from", "/api/v1/emissions/", {"start": "20261101"}, "start"),
        ({"region": "eu-wset-1"}, "region", "/api/v1/endpoints/", {"region": "eu-wset-1"}, "region"),
        ({"region": "eu-wset-1"}, "region", "/api/v1/emissions/", {"region": "eu-wset-1"}, "region"),
        ({"region": "eu-wset-1"}, "region", "/api/v1/focus/", {"region": "eu-wset-1"}, "region"),
        ({"region": "mars-north-1"}, "region", "/api/v1/usage/", {"region": "mars-north-1"}, "region"),
        ({"grain": "minute"}, "grain", "/api/v1/emissions/", {"grain": "minute"}, "grain"),
        (
            {"from": "2026-11-10", "to": "2026-11-01"},
            "from",
            "/api/v1/emissions/",
            {"start": "2026-11-10", "end": "2026-11-01"},
            "start",
        ),
        (
            {"from": "2026-11-10", "to": "2026-11-01"},
            "from",
            "/api/v1/focus/",
            {"start": "2026-11-10", "end": "2026-11-01"},
            "start",
        ),
    ],
)
def test_the_same_bad_value_gets_the_same_message_on_a_page_and_in_the_api(
    client, alice, fleet, tokens, page_params, page_name, api_url, api_params, api_name
):
    message = filters.parse(page_params, TODAY).errors[page_name]
    client.force_login(alice)
    page = client.get("/", page_params)
    assert page.status_code == 200
    assert f"<code>{page_name}</code>: {escape(message)}" in page.content.decode()
    client.logout()
    response = client.get(api_url, api_params, **bearer(tokens["read"]))
    assert response.status_code == 400 and response.json() == {api_name: [message]}


class Period(PeriodRules, QueryParams):
    """The API's period parameters as a resource declares them with the shared fields and rules."""

    start = DayField(required=False)
    end = DayField(required=False)
    grain = GrainField(default="day")

    def validate(self, attrs):
        return self.check_period(attrs, today=TODAY)


API_NAMES = {"from": "start", "to": "end"}


@pytest.mark.parametrize(
    ("page_params", "api_params"),
    [
        ({"from": "2026-11-10", "to": "2026-11-01"}, {"start": "2026-11-10", "end": "2026-11-01"}),
        ({"from": "2023-11-18"}, {"start": "2023-11-18"}),
        ({"from": "2026-10-20", "grain": "hour"}, {"start": "2026-10-20", "grain": "hour"}),
        ({"period": "90d", "grain": "hour"}, {"start": "2026-08-23", "grain": "hour"}),
        ({"grain": "minute"}, {"grain": "minute"}),
        ({"from": "2026-11-31"}, {"start": "2026-11-31"}),
    ],
)
def test_period_rules_give_the_pages_messages_under_the_apis_names(page_params, api_params):
    (page_name, message), *others = filters.parse(page_params, TODAY).errors.items()
    assert not others
    checked = Period(data=api_params)
    with pytest.raises(ValidationError) as raised:
        checked.is_valid(raise_exception=True)
    assert raised.value.detail == {API_NAMES.get(page_name, page_name): [message]}


@pytest.mark.parametrize(
    ("page_params", "api_params"),
    [
        ({"from": "2023-11-19"}, {"start": "2023-11-19"}),
        ({"from": "2026-10-21", "grain": "hour"}, {"start": "2026-10-21", "grain": "hour"}),
        ({}, {}),
    ],
)
def test_what_a_page_accepts_the_api_accepts_with_the_same_days(page_params, api_params):
    view = filters.parse(page_params, TODAY)
    checked = Period(data=api_params)
    assert view.errors == {} and checked.is_valid(), checked.errors
    assert (checked.validated_data["start"], checked.validated_data["end"]) == (view.start, view.end)
    assert checked.validated_data["grain"] == view.grain
