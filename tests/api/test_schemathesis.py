"""Schemathesis generates requests from the checked-in OpenAPI schema and sends them to the app in-process, in
its three phases (the schema's examples, the coverage phase's boundary values, e.g. ``page_size=0``,
``?format=AAA`` or an empty ``?since=``, and random fuzzing), both schema-valid and schema-violating requests.
Every check is on but one: no 5xx, the status code, content type, headers and body are the documented ones, a
request that violates the schema is refused, authentication is enforced, and so on.

Driven through Hypothesis directly: schemathesis' pytest plugin does not support this pytest version. The
runs are derandomized, so CI sends the same requests every time; ``st run docs/openapi.yaml`` against a
running server with many more examples is the deeper, occasional probe (README, REST API)."""

from pathlib import Path

import pytest
import schemathesis
import schemathesis.checks as checks
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.generation.hypothesis.builder import HypothesisTestConfig, HypothesisTestMode, create_test

from dashboard.api.auth import TokenRateThrottle
from dashboard.teams.models import ApiToken

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
EXAMPLES_PER_OPERATION = 50  # fuzzing; the coverage phase adds its boundary cases on top
# Every check but one. Not "every schema-valid request is accepted" (positive_data_acceptance): some limits
# span parameters (start before end, an hourly series of at most 31 days) and a cursor is opaque, so a
# request the schema allows can still be the caller's 400, whose body then names the parameter.
checks.load_all_checks()
CHECKS = [check for check in checks.CHECKS.get_all() if check is not checks.positive_data_acceptance]


@pytest.fixture
def wsgi_app():
    """The real WSGI application, kept from closing the test's database connection after each request (what
    Django's own test client does)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield get_wsgi_application()
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def test_no_generated_input_breaks_the_api_or_its_schema(fleet, alice, teams, wsgi_app, monkeypatch):
    # thousands of requests in well under a minute, and none of them throttled
    monkeypatch.setattr(TokenRateThrottle, "rate", "1000000/min", raising=False)
    _, plaintext = ApiToken.issue(alice, teams[0], "schemathesis", ApiToken.Access.WRITE)
    auth = {"Authorization": f"Bearer {plaintext}"}
    schema = schemathesis.openapi.from_path(SCHEMA)
    schema.app = wsgi_app
    schema.config.update(headers=auth)
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    assert {check.__name__ for check in CHECKS} >= {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
        "negative_data_rejection",
        "ignored_auth",
        "unsupported_method",
    }
    statuses = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        response = case.call_and_validate(headers=auth, checks=CHECKS)
        statuses.append(response.status_code)

    for operation in operations:
        config = HypothesisTestConfig(project=schema.config, modes=list(HypothesisTestMode))
        create_test(operation=operation, test_func=check, config=config)()
    assert len(statuses) >= 20 * len(operations)  # generation really ran for every operation
    assert statuses.count(200) > 5 * len(operations)  # and reached the code behind the validation
    assert {400, 405} <= set(statuses)  # and its refusals (an unknown ?format= is one of the 400s)
