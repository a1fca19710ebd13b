from django.db import models


class ComponentHourEstimate(models.Model):
    """One inference component's share of one variant-hour's estimate, or (``component_hour`` null) the share of the
    capacity no component reserved: the variant-hour's "unreserved capacity" line.

    The rows of one variant-hour add up to its ``VariantHourEstimate`` exactly (energy, CO2e, market CO2e, the
    range, embodied CO2e) and to its instance-hours, the cost's basis; how the hour is split is defined in
    ``dashboard.footprint.components`` and docs/methodology.md. Written in the transaction that (re-)estimates the
    variant-hour, so they always share its methodology version."""

    variant_hour = models.ForeignKey(
        "collectors.VariantHour", on_delete=models.CASCADE, related_name="component_estimates"
    )
    component_hour = models.OneToOneField(
        "collectors.ComponentHour", on_delete=models.CASCADE, null=True, blank=True, related_name="estimate"
    )
    # Copied from the hours they describe, so that a period's totals per component are one indexed scan.
    component = models.ForeignKey(
        "collectors.InferenceComponent", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    endpoint = models.ForeignKey("collectors.Endpoint", on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField(help_text="Start of the UTC hour")
    reserved_share = models.FloatField(
        help_text="Share of the variant's capacity (accelerators, else CPU cores) reserved in the hour, 0-1; for "
        "the unreserved line, 1 - the components' shares"
    )
    util_pct = models.FloatField(
        null=True, help_text="The component's utilization of what it reserved (GPU, else CPU), 0-100 %"
    )
    copies = models.FloatField(default=0.0, help_text="Average copies over the hour (0 for the unreserved line)")
    instance_hours = models.FloatField(help_text="The variant's instance-hours x reserved_share: the cost's basis")
    invocations = models.FloatField(null=True)
    energy_kwh = models.FloatField()
    idle_energy_kwh = models.FloatField(help_text="The part of energy_kwh the hardware draws at 0 % utilization")
    co2e_kg = models.FloatField()
    co2e_market_kg = models.FloatField(null=True)
    co2e_kg_low = models.FloatField()
    co2e_kg_high = models.FloatField()
    embodied_co2e_kg = models.FloatField()
    gco2e_per_1k_invocations = models.FloatField(null=True)
    methodology_version = models.CharField(max_length=16)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["variant_hour"],
                condition=models.Q(component_hour__isnull=True),
                name="one_unreserved_row_per_variant_hour",
            )
        ]
        indexes = [models.Index(fields=["endpoint", "hour"]), models.Index(fields=["hour"])]

    def __str__(self) -> str:
        what = self.component_id or "unreserved"
        return f"{self.variant_hour_id}/{what}: {self.energy_kwh:.3f} kWh"
