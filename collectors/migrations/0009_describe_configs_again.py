"""Have the next inventory describe every endpoint config once more, so open configuration rows recorded before
MetricsConfig and inference components were read get those fields (completed in place: see
``collectors.inventory.unread_metrics_config``). Hours collected before the upgrade keep the 60 s publish period
until they are collected again (``manage.py collect --since``)."""

from django.db import migrations


def forget_config_names(apps, schema_editor):
    apps.get_model("collectors", "Endpoint").objects.filter(deleted_at__isnull=True).update(config_name="")


class Migration(migrations.Migration):
    dependencies = [("collectors", "0008_inference_components_metrics_config_cloudtrail")]

    operations = [migrations.RunPython(forget_config_names, migrations.RunPython.noop)]
