"""The one way slack and webhook channels reach the network: ``post_json(url, body, headers)``.

- The URL is checked by ``urlsafety.resolve`` and the connection goes to one of the addresses *it* checked
  (the socket is opened to the IP; the Host header, TLS SNI and certificate check use the host name), so a
  DNS answer that changes between check and connect (DNS rebinding) cannot redirect the request.
- Short timeouts (``settings.WEBHOOK_TIMEOUT_SECONDS``, default 5) for connecting and every read, plus an
  overall deadline of twice that for reading the response, of which at most 64 KB is read.
- Redirects are never followed: a 3xx is a ``Permanent`` error.
- 2xx → detail ``"HTTP 200"``; 408, 429 and 5xx → ``Transient`` (with ``Retry-After`` when given);
  other 4xx → ``Permanent``; network errors → ``Transient``; a host that does not exist or a TLS certificate
  that does not verify → ``Permanent``.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time

from django.conf import settings

from dashboard.notify import urlsafety
from dashboard.notify.channels import Permanent, Transient

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "Wattson-Notify/1"


def post_json(url: str, body: bytes, headers: dict[str, str] | None = None) -> str:
    """POST ``body`` (JSON) to ``url``; returns ``"HTTP <status>"`` or raises Transient / Permanent /
    ``urlsafety.UnsafeDestination``."""
    destination = _resolve(url)
    timeout = float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 5))
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    try:
        status, reason, excerpt, retry_after = _exchange(destination, body, headers, timeout)
    except ssl.SSLCertVerificationError as exc:
        raise Permanent(f"TLS certificate of {destination.host} does not verify: {exc.verify_message}") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise Transient(f"{type(exc).__name__}: {exc or 'no detail'}") from exc
    return _classify(status, reason, excerpt, retry_after)


def _resolve(url: str) -> urlsafety.Destination:
    try:
        return urlsafety.resolve(url)
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            raise Permanent(f"host does not resolve: {exc.strerror or exc}") from exc
        raise Transient(f"DNS lookup failed: {exc.strerror or exc}") from exc


def _exchange(destination: urlsafety.Destination, body: bytes, headers: dict, timeout: float):
    connection = _connection(destination, timeout)
    try:
        connection.request("POST", destination.target, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = _read_limited(response, time.monotonic() + 2 * timeout)
        return response.status, response.reason, excerpt, _retry_after(response.getheader("Retry-After"))
    finally:
        connection.close()


def _classify(status: int, reason: str, excerpt: bytes, retry_after: int | None) -> str:
    detail = f"HTTP {status} {reason}".strip() + _excerpt(excerpt)
    if 200 <= status < 300:
        return f"HTTP {status}"
    if 300 <= status < 400:
        raise Permanent(f"HTTP {status}: redirects are not followed")
    if status in (408, 429) or status >= 500:
        raise Transient(detail, retry_after=retry_after)
    raise Permanent(detail)


def _excerpt(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return f": {text[:200]}" if text else ""


def _retry_after(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _read_limited(response: http.client.HTTPResponse, deadline: float) -> bytes:
    data = b""
    while len(data) < MAX_RESPONSE_BYTES and time.monotonic() < deadline:
        chunk = response.read1(MAX_RESPONSE_BYTES - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _connection(destination: urlsafety.Destination, timeout: float) -> http.client.HTTPConnection:
    cls = PinnedHTTPSConnection if destination.scheme == "https" else PinnedHTTPConnection
    return cls(destination.host, destination.port, destination.addresses, timeout)


def _open_socket(addresses: tuple[str, ...], port: int, timeout: float) -> socket.socket:
    """A connection to the first of the checked addresses that answers (IP literals: no DNS lookup)."""
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            error = exc
    raise error or OSError("no address to connect to")


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a checked address, with the URL's host name in the Host header."""

    def __init__(self, host: str, port: int, addresses: tuple[str, ...], timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = _open_socket(self.addresses, self.port, self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a checked address; SNI and certificate verification use the URL's host name."""

    def __init__(self, host: str, port: int, addresses: tuple[str, ...], timeout: float):
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.addresses = addresses

    def connect(self) -> None:
        sock = _open_socket(self.addresses, self.port, self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
