"""The inference-component split now uses each component's dominant reserved share (the largest of its GPUs, cores
and memory) instead of its accelerators alone on GPU instances. Removing the stored split has the next estimate
run split every component hour again (``estimates.pending`` picks up component hours without a split), so no hour
keeps a share computed the old way."""

from django.db import migrations


def forget_the_split(apps, schema_editor):
    apps.get_model("footprint", "ComponentHourEstimate").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("footprint", "0007_component_hour_estimates")]

    operations = [migrations.RunPython(forget_the_split, migrations.RunPython.noop)]
