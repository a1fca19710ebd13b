"""Alerts and notification channels: open and recent alerts, the team's channels (owners add, test, enable and
remove them), the digest and alert settings, and every delivery attempt with its result."""

from __future__ import annotations

import secrets
import zoneinfo

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.notify import alerts
from dashboard.notify.alerts import settings_of
from dashboard.notify.channels import sns
from dashboard.notify.models import Alert, Channel, Delivery, NotificationSettings
from dashboard.recommend.models import TeamPolicy
from dashboard.recommend.policy import policy_of
from dashboard.teams.scoping import current_team, get_for_team_or_404
from dashboard.web.views.accounts import require_owner

IDLE_LIMITS = ("idle_max_cpu_pct", "idle_max_gpu_pct")  # saved on the team's TeamPolicy (recommend.policy)


def test_outcome(channel: str, delivery: Delivery | None) -> str:
    """One sentence for a test's result: "Test to ops: sent to 1 recipient.", not the status then a detail that
    repeats it ("Sent. sent to ...")."""
    if delivery is None:
        return f"Test to {channel}: skipped, the channel is disabled."
    status = delivery.get_status_display()
    detail = (delivery.detail or "").strip().rstrip(".")
    if not detail:
        return f"Test to {channel}: {status.lower()}."
    if detail.casefold().startswith(status.casefold()):
        return f"Test to {channel}: {detail}."
    return f"Test to {channel}: {status.lower()} ({detail})."


class SettingsForm(forms.ModelForm):
    """The team's ``NotificationSettings``, and the CPU and GPU limits that corroborate idleness, which live on its
    ``TeamPolicy`` because recommendations read them too (one definition of idle): same fields, same checks."""

    exclude_tags = forms.CharField(required=False, help_text="Comma-separated key=value (or key) tags to ignore")
    idle_max_cpu_pct = TeamPolicy._meta.get_field("idle_max_cpu_pct").formfield()
    idle_max_gpu_pct = TeamPolicy._meta.get_field("idle_max_gpu_pct").formfield()

    class Meta:
        model = NotificationSettings
        fields = [
            "digest_weekday",
            "digest_hour",
            "timezone",
            "idle_hours",
            *IDLE_LIMITS,
            "notebook_idle_hours",  # declared above: TeamPolicy's fields, in this order on the page
            "reminder_hours",
            "exclude_tags",
        ]

    def __init__(self, *args, policy: TeamPolicy, **kwargs):
        super().__init__(*args, **kwargs)
        self.policy = policy
        # Notebook instances and Studio apps (issue 19): left empty, the team's current threshold stays.
        self.fields["notebook_idle_hours"].required = False
        if self.instance and not self.is_bound:
            self.initial["exclude_tags"] = ", ".join(self.instance.exclude_tags or [])
        if not self.is_bound:
            self.initial.update({name: getattr(policy, name) for name in IDLE_LIMITS})

    def clean_timezone(self):
        name = self.cleaned_data["timezone"]
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(f"Unknown time zone {name!r}; use an IANA name like Europe/Paris.") from None
        return name

    def clean_notebook_idle_hours(self):
        value = self.cleaned_data.get("notebook_idle_hours")
        return self.instance.notebook_idle_hours if value is None else value

    def clean_exclude_tags(self):
        return [part.strip() for part in self.cleaned_data["exclude_tags"].split(",") if part.strip()]

    def clean(self):
        data = super().clean()
        if data.get("digest_weekday") is not None and data["digest_weekday"] > 6:
            self.add_error("digest_weekday", "0 (Monday) to 6 (Sunday).")
        if data.get("digest_hour") is not None and data["digest_hour"] > 23:
            self.add_error("digest_hour", "0 to 23.")
        return data

    @transaction.atomic
    def save(self, commit=True):
        settings = super().save(commit)
        if commit:  # only the two limits: the rest of the policy stays as saved (defaults for a new one)
            limits = {name: self.cleaned_data[name] for name in IDLE_LIMITS}
            self.policy = TeamPolicy.objects.update_or_create(team=settings.team, defaults=limits)[0]
        return settings


class ChannelForm(forms.ModelForm):
    class Meta:
        model = Channel
        fields = ["kind", "name", "target", "account"]

    def __init__(self, *args, team=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = team.aws_accounts.all() if team else Channel.objects.none()
        self.fields["account"].required = False

    def clean(self):
        data = super().clean()
        kind, target = data.get("kind"), (data.get("target") or "").strip()
        if kind in (Channel.Kind.SLACK, Channel.Kind.WEBHOOK) and not target.startswith(("https://", "http://")):
            self.add_error("target", "A webhook URL starts with https://")
        if kind == Channel.Kind.SNS:
            self.clean_sns(target, data.get("account"))
        if kind == Channel.Kind.EMAIL and "@" not in target:
            self.add_error("target", "One or more email addresses, comma-separated.")
        return data

    def clean_sns(self, target: str, account) -> None:
        match = sns.TOPIC_ARN.match(target)
        if not match:
            self.add_error("target", "An SNS topic ARN: arn:aws:sns:<region>:<account>:<topic>")
        if not account:
            self.add_error("account", "SNS publishes through one of the team's AWS accounts.")
        elif match and match["account"] != account.account_id:
            self.add_error(
                "target", f"The topic must belong to the account it is published through ({account.account_id})."
            )


@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    if team is None:
        return render(request, "dashboard/notifications.html", {})
    config, policy = settings_of(team), policy_of(team)
    settings_form, channel_form = SettingsForm(instance=config, policy=policy), ChannelForm(team=team)
    if request.method == "POST":
        require_owner(request, team)
        if request.POST.get("form") == "settings":
            settings_form = SettingsForm(request.POST, instance=config, policy=policy)
            if settings_form.is_valid():
                settings_form.save()
                messages.success(request, "Saved the digest and alert settings.")
                return redirect("notifications")
        else:
            channel_form = ChannelForm(request.POST, team=team)
            if channel_form.is_valid():
                channel = channel_form.save(commit=False)
                channel.team = team
                if channel.kind == Channel.Kind.WEBHOOK:
                    channel.secret = secrets.token_hex(32)
                channel.save()
                messages.success(request, f"Added {channel}. Send it a test to check it.")
                return redirect("notifications")
    return render(
        request,
        "dashboard/notifications.html",
        {
            "settings_form": settings_form,
            "channel_form": channel_form,
            "channels": Channel.objects.filter(team=team).select_related("account"),
            "open_alerts": with_durations(
                Alert.objects.filter(team=team, resolved_at__isnull=True).select_related("endpoint")
            ),
            "recent_alerts": Alert.objects.filter(team=team, resolved_at__isnull=False).select_related("endpoint")[:20],
            "deliveries": Delivery.objects.filter(team=team).select_related("channel")[:50],
        },
    )


def with_durations(open_alerts) -> list[Alert]:
    """Open alerts, each with ``idle_for``: how long its idle period has lasted, in words ("7 days (168 h)"), and
    "at least" when no inference was ever collected (the period began before collection did)."""
    shown = list(open_alerts)
    for alert in shown:
        evidence = alert.evidence or {}
        prefix = "at least " if evidence.get("since_collection_began") else ""
        alert.idle_for = prefix + alerts.duration_text(int(evidence.get("hours") or 0))
    return shown


@require_POST
def channel_action(request: HttpRequest, pk: int) -> HttpResponse:
    team = current_team(request)
    channel = get_for_team_or_404(Channel.objects.all(), "team", team, pk=pk)
    require_owner(request, team)
    action = request.POST.get("action")
    if action == "test":
        from dashboard.notify import dispatch
        from dashboard.notify.channels import Message, Transient

        message = Message(
            event="test",
            subject=f"Wattson test message for {team.name}",
            text="If you can read this, Wattson's alerts will reach you here.",
        )
        try:
            delivery = dispatch.deliver(channel, message, f"test:{channel.pk}")
        except Transient as exc:
            messages.error(request, f"Could not reach {channel} (will not retry a test): {exc}")
        else:
            messages.info(request, test_outcome(str(channel), delivery))
    elif action == "enable":
        channel.enabled, channel.disabled_reason, channel.consecutive_failures = True, "", 0
        channel.save()
    elif action == "disable":
        channel.enabled, channel.disabled_reason = False, f"Disabled by {request.user}"
        channel.save()
    elif action == "delete":
        channel.delete()
        messages.success(request, f"Removed {channel}.")
    return redirect("notifications")
