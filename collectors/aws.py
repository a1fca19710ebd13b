"""boto3 sessions and clients for a customer account.

- An account with a role is reached by ``sts:AssumeRole`` with its external id; the credentials are cached
  per account and refreshed by botocore before they expire. An account without a role uses the worker's
  default credential chain. No secret is ever stored.
- Every client retries in botocore's *adaptive* mode: throttling slows the client down instead of failing.
- Every call is counted per operation, so a run can report its API usage.
- ``AWS_ENDPOINT_URL`` (honoured by boto3 itself) points everything at another endpoint, such as the sandbox.
  S3 Control then needs its account-id host prefix undone, which only happens for such a custom endpoint.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config
from botocore.credentials import DeferredRefreshableCredentials, create_assume_role_refresher
from botocore.loaders import create_loader
from botocore.session import Session as BotocoreSession
from django.conf import settings

RETRIES = {"mode": "adaptive", "total_max_attempts": 10}
CLIENT_CONFIG = Config(retries=RETRIES, connect_timeout=10, read_timeout=60, max_pool_connections=10)

_sessions: dict[tuple[str, str], boto3.Session] = {}
_lock = threading.Lock()
# One loader for every session: AWS service models (several MB of JSON each) are parsed once per process,
# not once per customer account.
_shared_loader = create_loader()


def _core_session() -> BotocoreSession:
    core = BotocoreSession()
    core.register_component("data_loader", _shared_loader)
    return core


def account_session(account) -> boto3.Session:
    """A boto3 session acting in ``account``; assumed-role credentials refresh themselves."""
    if not account.role_arn:
        return boto3.Session(botocore_session=_core_session())
    key = (account.role_arn, account.external_id)
    with _lock:
        if key not in _sessions:
            _sessions[key] = _assumed_session(account.role_arn, account.external_id)
        return _sessions[key]


def _assumed_session(role_arn: str, external_id: str) -> boto3.Session:
    sts = boto3.Session(botocore_session=_core_session()).client("sts", config=CLIENT_CONFIG)
    params = {"RoleArn": role_arn, "RoleSessionName": settings.AWS_ROLE_SESSION_NAME, "ExternalId": external_id,
              "DurationSeconds": settings.AWS_ASSUME_ROLE_SECONDS}
    refresher = create_assume_role_refresher(sts, params)
    credentials = DeferredRefreshableCredentials(refresh_using=refresher, method="assume-role")
    core = _core_session()
    core._credentials = credentials  # botocore's documented pattern for refreshable assumed-role sessions
    return boto3.Session(botocore_session=core)


def forget_sessions() -> None:
    with _lock:
        _sessions.clear()


class ApiCalls(Counter):
    """Counts calls per ``service:Operation`` made through clients it is attached to."""

    def attach(self, client) -> None:
        service = client.meta.service_model.service_name

        def count(model, **_):
            self[f"{service}:{model.name}"] += 1

        client.meta.events.register("before-call.*.*", count)

    @property
    def total(self) -> int:
        return sum(self.values())


def client(account, service: str, region: str, calls: ApiCalls | None = None):
    c = account_session(account).client(service, region_name=region, config=CLIENT_CONFIG)
    if service == "s3control" and custom_endpoint(service):
        c.meta.events.register("before-send.s3-control", s3control_custom_endpoint_handler(custom_endpoint(service)))
    if calls is not None:
        calls.attach(c)
    return c


def custom_endpoint(service: str) -> str | None:
    specific = f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}"
    return os.environ.get(specific) or os.environ.get("AWS_ENDPOINT_URL")


def s3control_custom_endpoint_handler(endpoint_url: str):
    """botocore prefixes S3 Control hosts with the account id (``123456789012.host``); a custom endpoint on an
    IP address or loopback cannot resolve that, so send the request to the endpoint's own host and port."""
    target = urlsplit(endpoint_url)

    def rewrite(request, **_):
        url = urlsplit(request.url)
        if url.hostname and url.hostname != target.hostname and url.hostname.endswith(f".{target.hostname}"):
            request.url = urlunsplit((url.scheme, target.netloc, url.path, url.query, url.fragment))

    return rewrite
