"""Celery tasks: thin wrappers around plain functions that can be called without a worker."""

from celery import shared_task

from collectors import heartbeat as heartbeat_module


@shared_task(name="collectors.tasks.heartbeat")
def heartbeat(hostname: str | None = None) -> int:
    """Record that a worker is alive; returns the number of beats seen from that host."""
    return heartbeat_module.record(hostname)
