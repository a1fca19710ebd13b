from django.db import models


class Summed(models.Model):
    """The columns a rollup row adds up over its hours (``measures.SUMMED``, and how many hours), shared by the
    daily and monthly rollups."""

    hours = models.PositiveIntegerField(help_text="Variant-hours summed into this row")
    instance_hours = models.FloatField()
    idle_instance_hours = models.FloatField(help_text="Instance-hours in hours with no invocation")
    invocations = models.FloatField()
    energy_kwh = models.FloatField()
    idle_energy_kwh = models.FloatField(help_text="Energy of hours with no invocation")
    co2e_kg = models.FloatField(help_text="Operational CO2e, location-based (the grid the load draws from)")
    co2e_market_kg = models.FloatField(
        null=True,
        help_text="Operational CO2e, market-based (GHG Protocol Scope 2); NULL when any hour summed lacks it",
    )
    co2e_kg_low = models.FloatField()
    co2e_kg_high = models.FloatField()
    embodied_co2e_kg = models.FloatField()

    class Meta:
        abstract = True


class VariantDay(Summed):
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


class VariantMonth(Summed):
    """One production variant's UTC month on one instance type: the sums of its ``VariantDay`` rows.

    Long periods read whole months here and only their partial edge days from ``VariantDay``
    (``dashboard.footprint.queries``), so a year costs about as much as a month. Refreshed from the day rows in the
    same transaction as they are (``dashboard.footprint.rollups``). Utilization is kept as ``<name>_x`` (the days'
    means times their instance-hours, summed) and ``<name>_w`` (the instance-hours of the days that report it), so
    months and edge days combine into exactly the mean the days give.
    """

    endpoint = models.ForeignKey("collectors.Endpoint", on_delete=models.CASCADE, related_name="months")
    account = models.ForeignKey("collectors.AwsAccount", on_delete=models.CASCADE, related_name="+")
    region = models.CharField(max_length=32)
    variant_name = models.CharField(max_length=63)
    month = models.DateField(help_text="First day of the UTC month")
    instance_type = models.CharField(max_length=32, blank=True, help_text="Empty for serverless")
    cpu_util_pct_x = models.FloatField(help_text="Sum of daily mean CPU % x instance-hours")
    cpu_util_pct_w = models.FloatField(help_text="Instance-hours of the days reporting CPU %")
    gpu_util_pct_x = models.FloatField(help_text="Sum of daily mean GPU % x instance-hours")
    gpu_util_pct_w = models.FloatField(help_text="Instance-hours of the days reporting GPU %")
    memory_util_pct_x = models.FloatField(help_text="Sum of daily mean memory % x instance-hours")
    memory_util_pct_w = models.FloatField(help_text="Instance-hours of the days reporting memory %")
    cpu_util_max_pct = models.FloatField(null=True)
    gpu_util_max_pct = models.FloatField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "variant_name", "month", "instance_type"],
                name="one_rollup_row_per_variant_month_type",
            )
        ]
        indexes = [models.Index(fields=["month"]), models.Index(fields=["endpoint", "month"])]

    def __str__(self) -> str:
        return f"{self.endpoint_id}/{self.variant_name} {self.month:%Y-%m} {self.instance_type or 'serverless'}"


class EstimateSourceDay(models.Model):
    """Where one endpoint's estimates of one UTC day come from: per methodology, version, factors and fallbacks,
    how many variant-hours and when last computed.

    The endpoint page's provenance over a year reads about 365 of these rows instead of joining 8,760 hours to
    their estimates. Refreshed with ``VariantDay`` in the same transaction (``dashboard.footprint.rollups``).
    """

    endpoint = models.ForeignKey("collectors.Endpoint", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    methodology = models.CharField(max_length=16)
    methodology_version = models.CharField(max_length=16)
    factors = models.TextField(blank=True)
    fallbacks = models.TextField(blank=True)
    hours = models.PositiveIntegerField(help_text="Estimated variant-hours of the day with these sources")
    last_computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["endpoint", "day"])]

    def __str__(self) -> str:
        return f"{self.endpoint_id} {self.day} {self.methodology} {self.methodology_version}: {self.hours} h"
