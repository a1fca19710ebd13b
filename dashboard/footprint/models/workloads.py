from django.db import models


class WorkloadHourEstimate(models.Model):
    """Energy and CO2e of one workload-hour (a job's, a notebook instance's, a Studio app's), by one methodology
    at one version: the same estimator and fields as ``VariantHourEstimate`` (docs/methodology.md)."""

    workload_hour = models.OneToOneField("collectors.WorkloadHour", on_delete=models.CASCADE, related_name="estimate")
    methodology = models.CharField(max_length=16)
    methodology_version = models.CharField(max_length=16)
    cpu_kwh = models.FloatField()
    gpu_kwh = models.FloatField()
    memory_kwh = models.FloatField()
    accelerator_kwh = models.FloatField()
    energy_kwh = models.FloatField(help_text="Operational energy, PUE included; embodied carbon is not in it")
    co2e_kg = models.FloatField(help_text="Operational CO2e, location-based")
    co2e_market_kg = models.FloatField(null=True, help_text="Operational CO2e, market-based (GHG Protocol Scope 2)")
    embodied_co2e_kg = models.FloatField()
    co2e_kg_low = models.FloatField()
    co2e_kg_high = models.FloatField()
    factors = models.TextField(blank=True)
    fallbacks = models.TextField(blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["methodology_version"])]

    def __str__(self) -> str:
        return f"{self.workload_hour}: {self.energy_kwh:.3f} kWh, {self.co2e_kg:.3f} kg CO2e"


class WorkloadEstimateFailure(models.Model):
    """A workload-hour the estimator refused: recorded and skipped, retried when re-collected or re-versioned."""

    workload_hour = models.OneToOneField(
        "collectors.WorkloadHour", on_delete=models.CASCADE, related_name="estimate_failure"
    )
    methodology_version = models.CharField(max_length=16)
    error = models.TextField()
    failed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.workload_hour}: {self.error}"
