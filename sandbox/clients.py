"""boto3 clients aimed at a running sandbox, as the seeder and the tests use them.

Two sandbox-only adjustments, both applied as botocore event handlers so the calls themselves
stay plain boto3:
- ``x-moto-account-id`` picks which simulated customer account a seeding call writes to;
- S3 Control puts the account id in the host name (``123456789012.127.0.0.1``), which cannot
  resolve on loopback; the handler sends the request to the sandbox's own host and port instead.
"""

from __future__ import annotations

import threading

import boto3
from botocore.config import Config

from collectors.aws import s3control_custom_endpoint_handler

SANDBOX_CREDENTIALS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}
RETRY_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=16)
_session: boto3.session.Session | None = None
_session_lock = threading.Lock()  # a boto3 session is not thread-safe; the clients it makes are


def _new_client(service: str, endpoint_url: str, region: str):
    """One shared session loads each service model once (a fresh session per client costs ~0.2 s of JSON)."""
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session(**SANDBOX_CREDENTIALS)
        return _session.client(service, region_name=region, endpoint_url=endpoint_url, config=RETRY_CONFIG)


def _account_header(account_id: str):
    def add_header(request, **_):
        request.headers["x-moto-account-id"] = account_id

    return add_header


def client(service: str, endpoint_url: str, region: str, account_id: str | None = None):
    c = _new_client(service, endpoint_url, region)
    if account_id:
        c.meta.events.register("before-sign.*.*", _account_header(account_id))
    if service == "s3control":
        c.meta.events.register("before-send.s3-control", s3control_custom_endpoint_handler(endpoint_url))
    return c
