"""Link an endpoint's data-capture destination to the Storage Lens prefix that holds its captures.

SageMaker writes captures to ``<DestinationS3Uri>/<endpoint-name>/<variant>/yyyy/mm/dd/hh/...``, so the
endpoint's prefix in its bucket is ``<destination key>/<endpoint-name>/``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.db.models import QuerySet, Sum

from collectors.models import Endpoint, StorageLensDay


def capture_location(endpoint: Endpoint) -> tuple[str, str] | None:
    """(bucket, prefix) of the endpoint's captures, or None when it does not capture."""
    if not endpoint.capture_destination.startswith("s3://"):
        return None
    url = urlsplit(endpoint.capture_destination)
    key = url.path.strip("/")
    return url.netloc, f"{key}/{endpoint.name}/" if key else f"{endpoint.name}/"


def capture_days(endpoint: Endpoint) -> QuerySet:
    """Daily stored bytes of the endpoint's capture prefix, summed over storage classes, oldest first."""
    location = capture_location(endpoint)
    if location is None:
        return StorageLensDay.objects.none()
    bucket, prefix = location
    return (
        StorageLensDay.objects.filter(account=endpoint.account, bucket=bucket, prefix=prefix)
        .values("day")
        .annotate(stored_bytes=Sum("stored_bytes"))
        .order_by("day")
    )
