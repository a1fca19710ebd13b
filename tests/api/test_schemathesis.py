"""Schemathesis generates requests from the checked-in OpenAPI schema and sends them to the app in-process: no
input may cause a 5xx, and every response must conform to the schema. (Driven through Hypothesis directly:
schemathesis' pytest plugin does not support this pytest version.)"""

from pathlib import Path

import pytest
import schemathesis
import schemathesis.checks as checks
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings

from dashboard.models import ApiToken

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
EXAMPLES_PER_OPERATION = 12
# No 5xx, and responses conform (status code, content type, body). Not "every schema-valid request is
# accepted": an opaque cursor or an unknown tag key is a string the schema allows and a 400 the caller needs.
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]


@pytest.fixture
def wsgi_app():
    """The real WSGI application, kept from closing the test's database connection after each request (what
    Django's own test client does)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield get_wsgi_application()
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def test_no_generated_input_breaks_the_api_or_its_schema(fleet, alice, teams, wsgi_app):
    _, plaintext = ApiToken.issue(alice, teams[0], "schemathesis", ApiToken.Access.WRITE)
    schema = schemathesis.openapi.from_path(SCHEMA)
    schema.app = wsgi_app
    schema.config.update(headers={"Authorization": f"Bearer {plaintext}"})
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    statuses = []
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call_and_validate(headers={"Authorization": f"Bearer {plaintext}"}, checks=CHECKS)
            statuses.append(response.status_code)

        check()
    assert len(statuses) >= 5 * len(operations)  # generation really ran for every operation
    assert statuses.count(200) > len(operations)  # and mostly reached the code behind the validation
