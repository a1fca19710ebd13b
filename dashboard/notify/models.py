"""Digests and alerts: where a team's notifications go (channels), when (settings), what was sent (deliveries),
who receives the weekly digest (subscriptions, claims), and idle-endpoint incidents (alerts)."""

from django.conf import settings
from django.db import models


class NotificationSettings(models.Model):
    """When a team's weekly digest goes out, and how idle alerts behave. The CPU and GPU limits that corroborate
    idleness are the team's ``TeamPolicy`` (``dashboard.recommend.policy``): one definition for every surface."""

    team = models.OneToOneField("teams.Team", on_delete=models.CASCADE, related_name="notification_settings")
    digest_weekday = models.PositiveSmallIntegerField(default=0, help_text="0 = Monday … 6 = Sunday")
    digest_hour = models.PositiveSmallIntegerField(default=8, help_text="Local hour, 0-23")
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA name, e.g. Europe/Paris")
    idle_hours = models.PositiveIntegerField(default=24, help_text="No invocation for this long: an idle alert")
    reminder_hours = models.PositiveIntegerField(default=72, help_text="Remind about a still-open alert after this")
    notebook_idle_hours = models.PositiveIntegerField(
        default=12,
        help_text="A notebook instance or Studio app running this long outside working hours without auto-stop: "
        "an alert",
    )
    exclude_tags = models.JSONField(
        default=list,
        blank=True,
        help_text='Endpoints with any of these tags are never alerted on, e.g. ["alerts=off", "env=dev"]',
    )

    class Meta:
        db_table = "dashboard_notificationsettings"  # the table it had in the dashboard app (docs/adr/0008)

    def __str__(self) -> str:
        return f"Notification settings of {self.team}"


class Channel(models.Model):
    """A destination for alerts (and digests, for email): one module per kind in ``dashboard/notify/channels``."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack-compatible incoming webhook"
        WEBHOOK = "webhook", "Signed webhook (HMAC-SHA256)"
        SNS = "sns", "AWS SNS topic"

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=100)
    target = models.CharField(max_length=2048, help_text="Email address(es), webhook URL or SNS topic ARN")
    secret = models.CharField(max_length=128, blank=True, help_text="HMAC key for signed webhooks (Wattson's own)")
    account = models.ForeignKey(
        "collectors.AwsAccount",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text="SNS: publish through this account's role",
    )
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "dashboard_channel"  # the table it had in the dashboard app (docs/adr/0008)
        ordering = ["team", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Delivery(models.Model):
    """One attempt to deliver one notification through one channel (or one digest email), kept as a record."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (will retry)"
        PERMANENT = "permanent", "Failed permanently"
        REFUSED = "refused", "Refused (unsafe destination)"

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries")
    what = models.CharField(max_length=200, help_text="e.g. alert:42:opened, digest:2026-11-16:alice")
    status = models.CharField(max_length=10, choices=Status.choices)
    attempt = models.PositiveSmallIntegerField(default=1)
    detail = models.TextField(blank=True, help_text="Error, response status or message id")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "dashboard_delivery"  # the table it had in the dashboard app (docs/adr/0008)
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["team", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.what} via {self.channel or 'email'}: {self.status}"


class DigestSubscription(models.Model):
    """A team member's choice to receive (or not) the team's weekly digest; members are subscribed by default."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="digest_subscriptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_subscriptions")
    subscribed = models.BooleanField(default=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "dashboard_digestsubscription"  # the table it had in the dashboard app (docs/adr/0008)
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_subscription_per_member")]

    def __str__(self) -> str:
        return f"{self.user} {'subscribed to' if self.subscribed else 'unsubscribed from'} {self.team}'s digest"


class DigestClaim(models.Model):
    """The send of one week's digest to one recipient. Claimed with a conditional UPDATE before sending, so a
    retried or duplicated task never sends it twice."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="digest_claims")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_claims")
    week_start = models.DateField(help_text="Monday of the week the digest covers")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    claimed_by = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "dashboard_digestclaim"  # the table it had in the dashboard app (docs/adr/0008)
        constraints = [models.UniqueConstraint(fields=["team", "user", "week_start"], name="one_digest_per_week")]

    def __str__(self) -> str:
        return f"{self.team} digest of {self.week_start} for {self.user}: {self.status}"


class Alert(models.Model):
    """One incident: an endpoint idle while its instances run (kind ``idle``), or a notebook instance or Studio app
    running past the team's threshold with nobody using it (kind ``notebook-idle``, on ``workload``). Opened once,
    reminded, resolved once."""

    class Resolution(models.TextChoices):
        TRAFFIC = "traffic", "Traffic returned"
        DELETED = "deleted", "Endpoint deleted"
        EXCLUDED = "excluded", "Excluded by tag"
        SCALED = "scaled", "No instances running"
        STOPPED = "stopped", "Stopped"
        AUTO_STOP = "auto-stop", "Auto-stop configured"

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="alerts")
    endpoint = models.ForeignKey(
        "collectors.Endpoint", on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    workload = models.ForeignKey(
        "collectors.Workload", on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    kind = models.CharField(max_length=16, default="idle")
    idle_since = models.DateTimeField(help_text="Start of the first hour without invocations")
    opened_at = models.DateTimeField()
    evidence = models.JSONField(default=dict)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    reminders = models.PositiveIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True)
    resolved_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "dashboard_alert"  # the table it had in the dashboard app (docs/adr/0008)
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "kind"],
                name="one_open_alert_per_endpoint",
                condition=models.Q(resolved_at__isnull=True),
            ),
            models.UniqueConstraint(
                fields=["workload", "kind"],
                name="one_open_alert_per_workload",
                condition=models.Q(resolved_at__isnull=True),
            ),
            models.CheckConstraint(
                condition=models.Q(endpoint__isnull=False) | models.Q(workload__isnull=False),
                name="alert_on_endpoint_or_workload",
            ),
        ]

    def __str__(self) -> str:
        state = "open" if self.resolved_at is None else f"resolved ({self.resolution})"
        return f"{self.kind} alert on {self.subject_name}: {state}"

    @property
    def subject_name(self) -> str:
        """What the alert is about: the endpoint's name, or the notebook instance's or Studio app's."""
        return self.endpoint.name if self.endpoint_id else self.workload.name
