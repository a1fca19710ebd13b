from django.db import models


class VariantHourEstimate(models.Model):
    """Energy and CO2e of one variant-hour, by one methodology at one version (see docs/methodology.md)."""

    variant_hour = models.OneToOneField("collectors.VariantHour", on_delete=models.CASCADE, related_name="estimate")
    methodology = models.CharField(max_length=16)
    methodology_version = models.CharField(max_length=16)
    cpu_kwh = models.FloatField()
    gpu_kwh = models.FloatField()
    memory_kwh = models.FloatField()
    accelerator_kwh = models.FloatField()
    energy_kwh = models.FloatField(help_text="Operational energy, PUE included; embodied carbon is not in it")
    co2e_kg = models.FloatField(help_text="Operational CO2e, location-based (the grid the load draws from)")
    co2e_market_kg = models.FloatField(
        null=True, help_text="Operational CO2e, market-based (GHG Protocol Scope 2); NULL until estimated by 2.0.0+"
    )
    embodied_co2e_kg = models.FloatField()
    co2e_kg_low = models.FloatField()
    co2e_kg_high = models.FloatField()
    gco2e_per_1k_invocations = models.FloatField(null=True)
    factors = models.TextField(blank=True)
    fallbacks = models.TextField(blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        db_table = "dashboard_varianthourestimate"  # the table it had in the dashboard app (docs/adr/0008)
        indexes = [models.Index(fields=["methodology_version"])]

    def __str__(self) -> str:
        return f"{self.variant_hour}: {self.energy_kwh:.3f} kWh, {self.co2e_kg:.3f} kg CO2e"


class EstimateFailure(models.Model):
    """A variant-hour the estimator refused (a value out of range, a result that is not a number): recorded and
    skipped so that it never blocks the hours queued after it, shown on Collection health, and retried when the
    hour is re-collected or the methodology's version changes."""

    variant_hour = models.OneToOneField(
        "collectors.VariantHour", on_delete=models.CASCADE, related_name="estimate_failure"
    )
    methodology_version = models.CharField(max_length=16)
    error = models.TextField()
    failed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.variant_hour}: {self.error}"
