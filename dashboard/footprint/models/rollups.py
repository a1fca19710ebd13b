from django.db import models


class VariantDay(models.Model):
    """One production variant's UTC day on one instance type: its hours and their estimates, summed.

    Pages over days, weeks and months read these rows instead of the hourly ones; they are refreshed whenever
    hours are (re-)estimated (``dashboard.footprint.rollups``). A day with a configuration change has one row per
    instance type. Utilizations are means weighted by instance-hours, normalised per vCPU / per GPU.
    """

    endpoint = models.ForeignKey("collectors.Endpoint", on_delete=models.CASCADE, related_name="days")
    account = models.ForeignKey("collectors.AwsAccount", on_delete=models.CASCADE, related_name="+")
    region = models.CharField(max_length=32)
    variant_name = models.CharField(max_length=63)
    day = models.DateField()
    instance_type = models.CharField(max_length=32, blank=True, help_text="Empty for serverless")
    hours = models.PositiveIntegerField(help_text="Variant-hours summed into this row")
    instance_hours = models.FloatField()
    idle_instance_hours = models.FloatField(help_text="Instance-hours in hours with no invocation")
    invocations = models.FloatField()
    energy_kwh = models.FloatField()
    idle_energy_kwh = models.FloatField(help_text="Energy of hours with no invocation")
    co2e_kg = models.FloatField()
    co2e_kg_low = models.FloatField()
    co2e_kg_high = models.FloatField()
    embodied_co2e_kg = models.FloatField()
    cpu_util_pct = models.FloatField(null=True)
    gpu_util_pct = models.FloatField(null=True)
    memory_util_pct = models.FloatField(null=True)
    cpu_util_max_pct = models.FloatField(null=True)
    gpu_util_max_pct = models.FloatField(null=True)

    class Meta:
        db_table = "dashboard_variantday"  # the table it had in the dashboard app (docs/adr/0008)
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "variant_name", "day", "instance_type"], name="one_rollup_row_per_variant_day_type"
            )
        ]
        indexes = [models.Index(fields=["day"]), models.Index(fields=["endpoint", "day"])]

    def __str__(self) -> str:
        return f"{self.endpoint_id}/{self.variant_name} {self.day} {self.instance_type or 'serverless'}"
