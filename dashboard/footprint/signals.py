"""Estimation follows collection: new variant-hours are estimated (and rolled up) as soon as a collection commits
them, through the collectors' signal rather than a task name the collectors would have to know."""

from django.dispatch import receiver

from collectors.signals import hours_collected


@receiver(hours_collected, dispatch_uid="estimate-collected-hours")
def estimate_collected_hours(sender, hours: int, **kwargs) -> None:
    from dashboard.footprint.tasks import estimate_pending

    estimate_pending.delay()
