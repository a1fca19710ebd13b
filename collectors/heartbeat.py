import socket

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from collectors.models import WorkerHeartbeat


def record(hostname: str | None = None) -> int:
    """Upsert the heartbeat row of ``hostname`` (default: this host) and return its beat count."""
    hostname = hostname or socket.gethostname()
    with transaction.atomic():
        beat, _ = WorkerHeartbeat.objects.select_for_update().get_or_create(
            hostname=hostname, defaults={"last_seen": timezone.now()}
        )
        WorkerHeartbeat.objects.filter(pk=beat.pk).update(last_seen=timezone.now(), beats=F("beats") + 1)
    beat.refresh_from_db()
    return beat.beats
