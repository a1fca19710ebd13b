# The CPU and GPU limits that corroborate idleness now live on the team's policy (recommend 0002 copied them
# there): removed from the notification settings. Backwards, the fields come back and each team's limits are
# copied back from its policy (notification settings created where a team had none but non-default limits), so
# nothing is lost either way. Historical models only.

from django.db import migrations

LIMITS = ("idle_max_cpu_pct", "idle_max_gpu_pct")
DEFAULT = 5.0


def copy_back_from_team_policy(apps, schema_editor):
    NotificationSettings = apps.get_model("notify", "NotificationSettings")
    TeamPolicy = apps.get_model("recommend", "TeamPolicy")
    configured = set(NotificationSettings.objects.values_list("team_id", flat=True))
    for policy in TeamPolicy.objects.order_by("pk").values("team_id", *LIMITS):
        team_id = policy.pop("team_id")
        if team_id in configured or any(value != DEFAULT for value in policy.values()):
            NotificationSettings.objects.update_or_create(team_id=team_id, defaults=policy)


class Migration(migrations.Migration):

    dependencies = [
        ("notify", "0001_initial"),
        ("recommend", "0002_idle_limits"),  # the limits have been copied to the team's policy
    ]

    operations = [
        # forwards nothing to copy (recommend 0002 did); backwards this runs last, once the fields are back
        migrations.RunPython(migrations.RunPython.noop, copy_back_from_team_policy, elidable=False),
        migrations.RemoveField(
            model_name="notificationsettings",
            name="idle_max_cpu_pct",
        ),
        migrations.RemoveField(
            model_name="notificationsettings",
            name="idle_max_gpu_pct",
        ),
    ]
