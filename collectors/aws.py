"""boto3 sessions and clients for a customer account.

- An account with a role is reached by ``sts:AssumeRole`` with its external id; the credentials are cached
  per account and refreshed by botocore before they expire. An account without a role uses the worker's
  default credential chain, and only when the operator enabled that mode (``COLLECT_ALLOW_ROLELESS_ACCOUNTS``):
  otherwise any team owner could register an account id and read the operator's own AWS. No secret is stored.
- Every session's identity is checked with ``sts:GetCallerIdentity`` against the registered account id before
  any other call is made through it, so data is never filed under an account it does not come from.
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

_sessions: dict[tuple[str, str, str], boto3.Session] = {}
_lock = threading.Lock()
# One loader for every session: AWS service models (several MB of JSON each) are parsed once per process,
# not once per customer account.
_shared_loader = create_loader()


def _core_session() -> BotocoreSession:
    core = BotocoreSession()
    core.register_component("data_loader", _shared_loader)
    return core


class IdentityError(Exception):
    """The session may not be used for this account: no role (and role-less mode is off), or its credentials
    belong to another AWS account than the one registered."""


def account_session(account) -> boto3.Session:
    """A boto3 session acting in ``account``, its identity verified; assumed-role credentials refresh themselves
    (a refresh assumes the same role, so the verified account cannot change)."""
    key = (account.account_id, account.role_arn, account.external_id)
    with _lock:
        session = _sessions.get(key)
    if session is not None:
        return session
    if account.role_arn:
        session = _assumed_session(account.role_arn, account.external_id)
    elif settings.COLLECT_ALLOW_ROLELESS_ACCOUNTS:
        session = boto3.Session(botocore_session=_core_session())
    else:
        raise IdentityError(
            f"account {account.account_id} has no role to assume, and role-less accounts are off "
            "(an operator may enable them with COLLECT_ALLOW_ROLELESS_ACCOUNTS)"
        )
    verify_identity(session, account.account_id)
    with _lock:
        return _sessions.setdefault(key, session)


def verify_identity(session: boto3.Session, account_id: str) -> None:
    """Raise IdentityError unless ``session``'s credentials belong to ``account_id``."""
    sts = session.client("sts", region_name=settings.AWS_STS_REGION, config=CLIENT_CONFIG)
    actual = sts.get_caller_identity()["Account"]
    if actual != account_id:
        raise IdentityError(
            f"the credentials used for account {account_id} belong to account {actual}; "
            "refusing to collect or send anything with them"
        )


def _assumed_session(role_arn: str, external_id: str) -> boto3.Session:
    sts = boto3.Session(botocore_session=_core_session()).client("sts", config=CLIENT_CONFIG)
    params = {
        "RoleArn": role_arn,
        "RoleSessionName": settings.AWS_ROLE_SESSION_NAME,
        "ExternalId": external_id,
        "DurationSeconds": settings.AWS_ASSUME_ROLE_SECONDS,
    }
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
    def total(self) -> int:  # type: ignore[override]  # a count, read as an attribute (Counter.total() is a method)
        return sum(self.values())


def client(account, service: str, region: str, calls: ApiCalls | None = None):
    c = account_session(account).client(service, region_name=region, config=CLIENT_CONFIG)
    if service == "s3control" and (endpoint_url := custom_endpoint(service)):
        c.meta.events.register("before-send.s3-control", s3control_custom_endpoint_handler(endpoint_url))
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


PRICING_REGION = "us-east-1"  # the Price List Query API's endpoint (also ap-south-1, eu-central-1)


def own_client(service: str, region: str, calls: ApiCalls | None = None):
    """A client with the collector's own identity, for account-independent data (the Price List): no role is
    assumed, so nothing is filed under a customer account."""
    c = boto3.Session(botocore_session=_core_session()).client(service, region_name=region, config=CLIENT_CONFIG)
    if calls is not None:
        calls.attach(c)
    return c
