"""Real receivers on loopback for notification tests: an HTTP server and an SMTP server, each in a thread."""

import json
import shutil
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from tests.collectors.conftest import aws_env, prod  # noqa: F401 - the sandbox account fixtures, shared

# path → (status, extra headers); anything else answers 200.
ROUTES = {
    "/fail": (500, {}),
    "/busy": (429, {"Retry-After": "7"}),
    "/missing": (404, {}),
    "/redirect": (302, {"Location": "/target"}),
}


class Receiver:
    """What reached the HTTP receiver: one dict per request (path, headers, raw body)."""

    def __init__(self):
        self.hits: list[dict] = []
        self.url = ""

    def at(self, path: str) -> list[dict]:
        return [hit for hit in self.hits if hit["path"] == path]

    def json(self, index: int = -1) -> dict:
        return json.loads(self.hits[index]["body"])


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.hits.append({"path": self.path, "headers": dict(self.headers), "body": body})
            status, headers = ROUTES.get(self.path, (200, {}))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_GET = do_POST  # noqa: N815 - a followed redirect would arrive as a GET

        def log_message(self, *args):
            pass

    return Handler


def _serve(tls: ssl.SSLContext | None = None):
    found = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    found.url = f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return found, server, thread


@pytest.fixture
def receiver():
    """A real HTTP server on 127.0.0.1 with a random port; ``receiver.url`` is its base URL."""
    found, server, thread = _serve()
    yield found
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):
    """The same receiver over TLS, with a self-signed certificate for ``hooks.example`` that this process's
    default trust store (``SSL_CERT_FILE``) trusts."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not available to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=hooks.example",
            "-addext",
            "subjectAltName=DNS:hooks.example",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    found, server, thread = _serve(context)
    yield found
    server.shutdown()
    server.server_close()
    thread.join(5)


class Mailbox:
    """An aiosmtpd handler that keeps every accepted message and refuses recipients at refused.example."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd API
        if address.endswith("@refused.example"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        self.messages.append(envelope)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback, with Django's SMTP backend pointed at it; yields its mailbox."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield mailbox
    controller.stop()
