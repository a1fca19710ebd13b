"""The sandbox HTTP server: patched moto behind a thin WSGI layer that counts calls and injects faults.

The layer sees every AWS request before moto does. It
- counts calls per account, region, service and operation (``GET /_sandbox/calls``), so benchmarks
  and tests can compare API usage with the theoretical minimum;
- answers with an AWS-shaped error for calls matching a registered fault (``POST /_sandbox/faults``
  with ``{"operation": "GetMetricData", "error": "ThrottlingException", "count": 3}``, optionally
  ``account``, ``region``, ``service``, ``status``, ``message``), so throttling and access denial can
  be tested against unmodified boto3 (with ``delay_seconds`` the call succeeds, only slowly; with
  ``body_contains`` only requests whose body holds that text, e.g. one endpoint's ARN, match);
- enforces trust policies that moto ignores: after ``POST /_sandbox/trust`` with ``{"role_arn": ...,
  "external_id": ...}``, AssumeRole of that role with another (or no) ExternalId is denied;
- serves ``GET /_sandbox/health`` and, when a fleet was seeded, ``GET /_sandbox/fleet``;
- answers the Price List Query API (``pricing``), which moto lacks, from ``sandbox/pricing.py``; a test changes a
  price with ``POST /_sandbox/prices`` ``{"match": {"instanceType": "ml.m5.xlarge-Hosting", "regionCode":
  "us-east-1"}, "usd": 0.3, "effective_date": "2026-11-20T00:00:00Z"}`` (``DELETE`` restores the catalog);
- seeds CloudTrail's event history (``POST /_sandbox/cloudtrail``, see ``sandbox/cloudtrail.py``); LookupEvents
  itself is an ordinary (counted, fault-injectable) call answered by the patched moto.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from urllib.parse import parse_qs

from moto.iam.models import get_account_id_from
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from sandbox import cloudtrail, compute_optimizer, patches, sustainability
from sandbox.pricing import PriceList

# Services moto lacks, by signing name: each module answers its API (``respond``) and a control route (``control``).
AWS_FIGURES = {"sustainability": sustainability, "compute-optimizer": compute_optimizer}
AWS_FIGURES_CONTROL = {"aws_carbon": sustainability, "idle_findings": compute_optimizer}

# rest-json APIs moto lacks: the operation each path names (their faults answer in JSON, as botocore expects).
REST_JSON_OPERATIONS = {
    "/v1/estimated-carbon-emissions": "GetEstimatedCarbonEmissions",
    "/v1/estimated-carbon-emissions-dimension-values": "GetEstimatedCarbonEmissionsDimensionValues",
}

_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/")


@dataclass
class Fault:
    operation: str
    error: str = "ThrottlingException"
    message: str = "Rate exceeded"
    status: int = 400
    count: int | None = None
    account: str | None = None
    region: str | None = None
    service: str | None = None
    delay_seconds: float = 0.0  # > 0: answer normally, but this much later (a slow AWS), instead of an error
    body_contains: str | None = None  # only requests about one resource (its name or ARN in the request body)

    def matches(self, call: CallInfo) -> bool:
        return (
            self.operation in (call.operation, "*")
            and self.account in (None, call.account)
            and self.region in (None, call.region)
            and self.service in (None, call.service)
            and (self.body_contains is None or self.body_contains in call.body)
        )


@dataclass
class CallInfo:
    account: str
    region: str
    service: str
    operation: str
    protocol: str
    body: str = ""


def _cbor_text(text: str) -> bytes:
    data = text.encode()
    if len(data) < 24:
        return bytes([0x60 | len(data)]) + data
    if len(data) < 256:
        return bytes([0x78, len(data)]) + data
    return bytes([0x79]) + len(data).to_bytes(2, "big") + data


def cbor_error_body(code: str, message: str) -> bytes:
    """A two-entry CBOR map, as smithy-rpc-v2-cbor error responses carry (enough for botocore)."""
    return bytes([0xA2]) + _cbor_text("__type") + _cbor_text(code) + _cbor_text("message") + _cbor_text(message)


def error_response(call: CallInfo, fault: Fault) -> tuple[str, list[tuple[str, str]], bytes]:
    status = f"{fault.status} Error"
    if call.protocol == "json":
        body = json.dumps({"__type": fault.error, "message": fault.message}).encode()
        return status, [("Content-Type", "application/x-amz-json-1.1")], body
    if call.protocol == "rest-json":
        body = json.dumps({"message": fault.message}).encode()
        return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", fault.error)], body
    if call.protocol == "cbor":
        headers = [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
        return status, headers, cbor_error_body(fault.error, fault.message)
    if call.protocol == "query":
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{fault.error}</Code>"
            f"<Message>{fault.message}</Message></Error><RequestId>sandbox</RequestId></ErrorResponse>"
        )
        return status, [("Content-Type", "text/xml")], xml.encode()
    xml = f"<Error><Code>{fault.error}</Code><Message>{fault.message}</Message></Error>"
    return status, [("Content-Type", "application/xml")], xml.encode()


def _rest_operation(method: str, path: str, query: str) -> str:
    if path.startswith("/v20180820/storagelens"):
        verb = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}.get(method, method)
        return (
            "ListStorageLensConfigurations"
            if path.rstrip("/").endswith("storagelens")
            else f"{verb}StorageLensConfiguration"
        )
    parts = [p for p in path.split("/") if p]
    if method == "GET" and len(parts) <= 1:
        return "ListObjectsV2" if "list-type=2" in query else "ListObjects"
    return {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method, method)


def describe_call(environ: dict) -> CallInfo | None:
    """Who is calling what, read from the signed request (None for unsigned or control requests)."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not match:
        return None
    access_key, region, service = match.groups()
    account = environ.get("HTTP_X_MOTO_ACCOUNT_ID") or get_account_id_from(access_key)
    target = environ.get("HTTP_X_AMZ_TARGET")
    path = environ.get("PATH_INFO", "")
    if target:
        return CallInfo(account, region, service, target.split(".")[-1], "json")
    if path.rstrip("/") in REST_JSON_OPERATIONS:
        return CallInfo(account, region, service, REST_JSON_OPERATIONS[path.rstrip("/")], "rest-json")
    if "/operation/" in path:
        return CallInfo(account, region, service, path.rsplit("/", 1)[-1], "cbor")
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = _peek_body(environ)
        action = parse_qs(body.decode(errors="replace")).get("Action", ["?"])[0]
        return CallInfo(account, region, service, action, "query")
    operation = _rest_operation(environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""))
    return CallInfo(account, region, service, operation, "rest")


def _peek_body(environ: dict) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class SandboxApp:
    """WSGI middleware in front of moto's dispatcher."""

    def __init__(self) -> None:
        patches.apply()
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.calls: Counter = Counter()
        self.faults: list[Fault] = []
        self.fleet: dict | None = None
        self.trust: dict[str, str] = {}  # role ARN -> required external id
        self.price_list = PriceList()
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_sandbox/"):
            return self.control(environ, start_response, path[len("/_sandbox/") :])
        call = describe_call(environ)
        if call is not None:
            if any(f.body_contains for f in self.faults):
                call.body = _peek_body(environ).decode(errors="replace")
            fault = self.record(call) or self.trust_fault(call, environ)
            if fault is not None and fault.delay_seconds:
                time.sleep(fault.delay_seconds)
            elif fault is not None:
                status, headers, body = error_response(call, fault)
                start_response(status, headers + [("Content-Length", str(len(body)))])
                return [body]
            if call.service == "pricing":
                return self.pricing(environ, start_response, call)
            if call.service in AWS_FIGURES:  # services moto lacks, answered by our own modules (issue 18)
                return AWS_FIGURES[call.service].respond(environ, start_response, call, _peek_body(environ))
        return self.moto(environ, start_response)

    def pricing(self, environ, start_response, call: CallInfo):
        code, payload = self.price_list.handle(call.operation, json.loads(_peek_body(environ) or b"{}"))
        body = json.dumps(payload).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))]
        start_response(f"{code} {'OK' if code == 200 else 'Error'}", headers)
        return [body]

    def record(self, call: CallInfo) -> Fault | None:
        with self._lock:
            self.calls[(call.account, call.region, call.service, call.operation)] += 1
            for fault in self.faults:
                if fault.matches(call) and fault.count != 0:
                    if fault.count is not None:
                        fault.count -= 1
                    return fault
        return None

    def trust_fault(self, call: CallInfo, environ) -> Fault | None:
        if call.operation != "AssumeRole" or not self.trust:
            return None
        params = parse_qs(_peek_body(environ).decode(errors="replace"))
        role_arn = params.get("RoleArn", [""])[0]
        required = self.trust.get(role_arn)
        if required is None or params.get("ExternalId", [""])[0] == required:
            return None
        return Fault("AssumeRole", "AccessDenied", f"not authorized to perform sts:AssumeRole on {role_arn}", 403)

    def control(self, environ, start_response, route: str):
        method = environ["REQUEST_METHOD"]
        if route == "health":
            return _json(start_response, {"status": "ok"})
        if route == "fleet" and method == "GET":
            return _json(start_response, self.fleet or {}, status="200 OK" if self.fleet else "404 Not Found")
        handlers = {
            "calls": self.control_calls,
            "faults": self.control_faults,
            "prices": self.control_prices,
            "cloudtrail": self.control_cloudtrail,
        }
        if route in handlers:
            return handlers[route](environ, start_response, method)
        if route in AWS_FIGURES_CONTROL:
            return self.control_aws_figures(environ, start_response, route, method)
        if route == "trust":
            with self._lock:
                if method == "POST":
                    rule = json.loads(_peek_body(environ) or b"{}")
                    self.trust[rule["role_arn"]] = rule["external_id"]
                elif method == "DELETE":
                    self.trust.clear()
                return _json(start_response, {"trust": self.trust})
        return _json(start_response, {"error": f"unknown sandbox route {route!r}"}, status="404 Not Found")

    def control_aws_figures(self, environ, start_response, route: str, method: str):
        payload = json.loads(_peek_body(environ) or b"{}") if method in ("POST", "PUT") else None
        return _json(start_response, AWS_FIGURES_CONTROL[route].control(method, payload))

    def control_cloudtrail(self, environ, start_response, method: str):
        """``POST`` {"events": [...]} seeds (backdated) events (``sandbox.cloudtrail.add_events``); ``DELETE``
        (optionally ``?account=...&region=...``) forgets them; ``GET`` counts them per account and region."""
        if method == "POST":
            try:
                added = cloudtrail.add_events(json.loads(_peek_body(environ) or b"{}").get("events", []))
            except (KeyError, TypeError, ValueError) as exc:
                return _json(start_response, {"error": str(exc)}, status="400 Bad Request")
            return _json(start_response, {"added": added})
        if method == "DELETE":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            cloudtrail.clear_events(query.get("account", [None])[0], query.get("region", [None])[0])
        counts = [{"account": a, "region": r, "events": len(store.events)} for a, r, store in cloudtrail.all_stores()]
        return _json(start_response, {"stores": counts})

    def control_prices(self, environ, start_response, method: str):
        if method == "POST":
            return _json(start_response, {"changed": self.price_list.change(json.loads(_peek_body(environ)))})
        if method == "DELETE":
            self.price_list.reset()
        return _json(start_response, {"products": len(self.price_list.products)})

    def control_calls(self, environ, start_response, method: str):
        with self._lock:
            if method == "DELETE":
                self.calls.clear()
            rows = [
                {"account": a, "region": r, "service": s, "operation": o, "count": n}
                for (a, r, s, o), n in sorted(self.calls.items())
            ]
        return _json(start_response, {"calls": rows})

    def control_faults(self, environ, start_response, method: str):
        with self._lock:
            if method == "POST":
                try:
                    self.faults.append(Fault(**json.loads(_peek_body(environ) or b"{}")))
                except (TypeError, ValueError) as exc:
                    return _json(start_response, {"error": str(exc)}, status="400 Bad Request")
            elif method == "DELETE":
                self.faults.clear()
            return _json(start_response, {"faults": [asdict(f) for f in self.faults]})


def _json(start_response, payload, status: str = "200 OK"):
    body = json.dumps(payload, default=str).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class QuietRequestHandler(MotoRequestHandler):
    """Moto's handler without a log line per request (a seeded fleet makes tens of thousands)."""

    def log_request(self, code="-", size="-") -> None:
        if str(code).startswith("5"):
            super().log_request(code, size)


class SandboxServer:
    """Run the sandbox on a loopback port in a background thread of this process."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = SandboxApp()
        self._server = make_server(host, port, self.app, threaded=True, request_handler=QuietRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
