"""Stub: replaced by the issue-18 implementation (the sandbox's answer to a service moto lacks)."""


def respond(environ, start_response, call, body: bytes):
    payload = b'{"message": "not implemented in the sandbox yet"}'
    start_response("501 Not Implemented", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def control(method: str, payload: dict | None) -> dict:
    return {"implemented": False}
