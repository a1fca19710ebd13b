"""The shared cache's table (settings.CACHE_TABLE, used when CACHE_URL is db://, the default), created here so that
`migrate` is all a deployment runs. Created whatever CACHE_URL says, so switching to it later needs nothing."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

TABLE = "wattson_cache"


def create(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0006_notifications")]

    operations = [migrations.RunPython(create, drop)]
