# The CPU and GPU limits that corroborate idleness move to the team's policy, so alerts, digests and
# recommendations read one definition of idle (dashboard.recommend.policy.idle_policy). This migration adds the
# fields and copies each team's current limits from its notification settings, creating the team's policy (with
# the defaults otherwise) where it has none; notify 0002 then removes them from the notification settings.
# Historical models only (no import of the apps' code, which may change later).

from django.db import migrations, models

LIMITS = ("idle_max_cpu_pct", "idle_max_gpu_pct")


def copy_from_notification_settings(apps, schema_editor):
    NotificationSettings = apps.get_model("notify", "NotificationSettings")
    TeamPolicy = apps.get_model("recommend", "TeamPolicy")
    for settings in NotificationSettings.objects.order_by("pk").values("team_id", *LIMITS):
        team_id = settings.pop("team_id")
        TeamPolicy.objects.update_or_create(team_id=team_id, defaults=settings)


class Migration(migrations.Migration):

    dependencies = [
        ("recommend", "0001_initial"),
        ("notify", "0001_initial"),  # the notification settings with their limits, to copy from
    ]

    operations = [
        migrations.AddField(
            model_name="teampolicy",
            name="idle_max_cpu_pct",
            field=models.FloatField(default=5.0, help_text="Corroboration: p95 CPU must stay under this"),
        ),
        migrations.AddField(
            model_name="teampolicy",
            name="idle_max_gpu_pct",
            field=models.FloatField(default=5.0, help_text="Corroboration: p95 GPU must stay under this"),
        ),
        # backwards: notify 0002 has copied the limits back before these fields go
        migrations.RunPython(copy_from_notification_settings, migrations.RunPython.noop, elidable=False),
    ]
