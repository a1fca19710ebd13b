"""The Alerts page: open alerts, channels (owners manage them), a disabled channel's notice, settings, scoping."""

from datetime import timedelta

import pytest
from django.urls import reverse

from dashboard.footprint.idle import IdlePolicy
from dashboard.notify import alerts
from dashboard.notify.models import Alert, Channel, NotificationSettings
from dashboard.recommend.models import TeamPolicy
from tests.web import factories


def test_the_page_shows_open_alerts_and_a_disabled_channels_notice(client, alice, teams):
    owner = factories.account(teams[0], "111122223333")
    idle = factories.endpoint(owner, "idle-gpu", hours=48, invocations=0, cpu_util_pct=1.0)
    factories.estimate()
    alerts.evaluate(teams[0], idle.hours.order_by("-hour").first().hour + timedelta(hours=1, minutes=5))
    Channel.objects.create(
        team=teams[0],
        kind="webhook",
        name="broken hook",
        target="https://example.com/x",
        enabled=False,
        disabled_reason="3 permanent failures in a row: HTTP 404",
    )
    client.force_login(alice)
    page = client.get(reverse("notifications")).content.decode()
    assert Alert.objects.filter(resolved_at__isnull=True).count() == 1 and "idle-gpu" in page
    assert "Channel <strong>broken hook</strong> is disabled: 3 permanent failures in a row: HTTP 404" in page


def test_only_owners_add_channels_and_bad_input_is_explained(client, alice, bob, teams):
    client.force_login(bob)
    response = client.post(
        reverse("notifications"),
        {"form": "channel", "kind": "slack", "name": "x", "target": "https://hooks.example.com/a"},
    )
    assert response.status_code == 403 and not Channel.objects.exists()
    client.force_login(alice)
    page = client.post(
        reverse("notifications"), {"form": "channel", "kind": "webhook", "name": "x", "target": "ftp://example.com"}
    ).content.decode()
    assert "A webhook URL starts with https://" in page and not Channel.objects.exists()
    client.post(
        reverse("notifications"),
        {"form": "channel", "kind": "webhook", "name": "ops", "target": "https://hooks.example.com/a"},
    )
    assert len(Channel.objects.get().secret) == 64  # a signing key is generated for signed webhooks
    page = client.post(
        reverse("notifications"),
        {
            "form": "settings",
            "digest_weekday": 0,
            "digest_hour": 8,
            "timezone": "Mars/Olympus",
            "idle_hours": 24,
            "idle_max_cpu_pct": 5,
            "idle_max_gpu_pct": 5,
            "reminder_hours": 72,
            "exclude_tags": "",
        },
    ).content.decode()
    assert "Unknown time zone" in page
    client.post(
        reverse("notifications"),
        {
            "form": "settings",
            "digest_weekday": 4,
            "digest_hour": 17,
            "timezone": "Europe/Paris",
            "idle_hours": 12,
            "idle_max_cpu_pct": 12.5,
            "idle_max_gpu_pct": 3,
            "reminder_hours": 48,
            "exclude_tags": "alerts=off, env=dev",
        },
    )
    saved = NotificationSettings.objects.get(team=teams[0])
    assert (saved.timezone, saved.idle_hours, saved.exclude_tags) == ("Europe/Paris", 12, ["alerts=off", "env=dev"])
    # the corroboration limits are the team's policy (one definition of idle for alerts and recommendations),
    # created with its defaults otherwise when the team had none
    policy = TeamPolicy.objects.get(team=teams[0])
    assert (policy.idle_max_cpu_pct, policy.idle_max_gpu_pct, policy.idle_days) == (12.5, 3.0, 7)


def test_the_idle_limits_are_shown_checked_and_saved_on_the_teams_policy(client, alice, bob, teams):
    TeamPolicy.objects.create(team=teams[0], idle_days=3, idle_max_cpu_pct=20.0, min_instances=2)
    client.force_login(alice)
    page = client.get(reverse("notifications")).content.decode()
    assert 'name="idle_max_cpu_pct" value="20.0"' in page and 'name="idle_max_gpu_pct" value="5.0"' in page
    settings = {
        "form": "settings",
        "digest_weekday": 0,
        "digest_hour": 8,
        "timezone": "UTC",
        "idle_hours": 24,
        "idle_max_cpu_pct": "lots",
        "idle_max_gpu_pct": "",
        "reminder_hours": 72,
        "exclude_tags": "",
    }
    page = client.post(reverse("notifications"), settings).content.decode()
    assert "Enter a number." in page and "This field is required." in page
    assert TeamPolicy.objects.get(team=teams[0]).idle_max_cpu_pct == 20.0
    client.force_login(bob)  # a member sees the settings but may not change them
    assert (
        client.post(reverse("notifications"), {**settings, "idle_max_cpu_pct": 1, "idle_max_gpu_pct": 1}).status_code
        == 403
    )
    client.force_login(alice)
    client.post(reverse("notifications"), {**settings, "idle_max_cpu_pct": 8, "idle_max_gpu_pct": 2.5})
    policy = TeamPolicy.objects.get(team=teams[0])
    assert (policy.idle_max_cpu_pct, policy.idle_max_gpu_pct) == (8.0, 2.5)
    assert (policy.idle_days, policy.min_instances) == (3, 2)  # the rest of the policy is left as it was
    assert alerts.alerting_policy(teams[0], NotificationSettings.objects.get(team=teams[0])) == IdlePolicy(24, 8.0, 2.5)


def test_another_teams_channels_are_404(client, charlie, teams):
    channel = Channel.objects.create(team=teams[0], kind="email", name="ops", target="ops@example.com")
    client.force_login(charlie)
    assert client.post(reverse("channel-action", args=[channel.pk]), {"action": "delete"}).status_code == 404
    assert Channel.objects.filter(pk=channel.pk).exists()
    assert "ops@example.com" not in client.get(reverse("notifications")).content.decode()


def test_the_notebook_threshold_is_set_on_the_alerts_page_and_working_time_is_checked(client, alice, teams):
    from django.core.exceptions import ValidationError

    client.force_login(alice)
    page = client.get(reverse("notifications")).content.decode()
    assert 'name="notebook_idle_hours" value="12"' in page  # the default, shown
    settings = {
        "form": "settings", "digest_weekday": 0, "digest_hour": 8, "timezone": "UTC", "idle_hours": 24,
        "idle_max_cpu_pct": 5, "idle_max_gpu_pct": 5, "reminder_hours": 72, "exclude_tags": "",
    }  # fmt: skip
    client.post(reverse("notifications"), {**settings, "notebook_idle_hours": 30})
    assert NotificationSettings.objects.get(team=teams[0]).notebook_idle_hours == 30
    client.post(reverse("notifications"), settings)  # left out: the threshold stays
    assert NotificationSettings.objects.get(team=teams[0]).notebook_idle_hours == 30
    page = client.post(reverse("notifications"), {**settings, "notebook_idle_hours": -1}).content.decode()
    assert "Ensure this value is greater than or equal to 0." in page
    policy = TeamPolicy(team=teams[0], working_hours="8 to 7", working_days="mon-fri")
    with pytest.raises(ValidationError, match="HH-HH"):
        policy.clean()
    policy.working_hours, policy.working_days = "22-06", "weekdays"
    with pytest.raises(ValidationError, match="mon … sun"):
        policy.clean()
    policy.working_days = "sun-thu"
    policy.clean()
