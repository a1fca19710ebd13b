"""What can go wrong in a collection, shared by the collectors and the runner."""

from __future__ import annotations

from botocore.exceptions import ClientError

THROTTLING_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
}


class CollectionFailed(Exception):
    """A collection that read nothing usable; its watermark stays where it was."""

    def __init__(self, message: str, throttled: bool = False):
        super().__init__(message)
        self.throttled = throttled


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "ClientError")


def describe_client_error(exc: ClientError) -> str:
    return f"{error_code(exc)}: {exc.response.get('Error', {}).get('Message', str(exc))}"


def is_throttling(exc: Exception) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) in THROTTLING_CODES
