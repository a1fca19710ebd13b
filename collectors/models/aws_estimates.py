"""AWS's own figures, kept beside ours: its monthly carbon estimates (Sustainability API, issue 18) and Compute
Optimizer's idle findings on SageMaker endpoints."""

from django.db import models


class AwsCarbonEstimate(models.Model):
    """AWS's estimated carbon emissions of one account, region and service in one month, for one model version.

    ``GetEstimatedCarbonEmissions`` returns only the latest model version of each month; a month AWS revises
    comes back with a new ``model_version`` and is kept as a new row, never written over, so every version seen
    stays comparable. Figures are stored in kg CO2e (AWS reports metric tons, rounded: a small footprint may come
    back as 0, which means below AWS's reporting precision, not no emissions)."""

    class Origin(models.TextChoices):
        API = "api", "Sustainability API"
        EXPORT = "export", "CARBON_EMISSIONS data export"

    account = models.ForeignKey("collectors.AwsAccount", on_delete=models.CASCADE, related_name="aws_carbon")
    usage_account_id = models.CharField(max_length=12, help_text="USAGE_ACCOUNT_ID as AWS grouped it")
    region = models.CharField(max_length=32, blank=True, help_text="REGION as AWS grouped it ('' when global)")
    service = models.CharField(max_length=128, help_text="SERVICE as AWS grouped it, e.g. AmazonSageMaker")
    month = models.DateField(help_text="First day of the month")
    model_version = models.CharField(max_length=64)
    origin = models.CharField(max_length=8, choices=Origin.choices, default=Origin.API)
    location_co2e_kg = models.FloatField(null=True, help_text="TOTAL_LBM_CARBON_EMISSIONS, kg")
    market_co2e_kg = models.FloatField(null=True, help_text="TOTAL_MBM_CARBON_EMISSIONS, kg")
    scope1_co2e_kg = models.FloatField(null=True, help_text="TOTAL_SCOPE_1_CARBON_EMISSIONS, kg")
    scope2_location_co2e_kg = models.FloatField(null=True, help_text="TOTAL_SCOPE_2_LBM_CARBON_EMISSIONS, kg")
    scope2_market_co2e_kg = models.FloatField(null=True, help_text="TOTAL_SCOPE_2_MBM_CARBON_EMISSIONS, kg")
    scope3_location_co2e_kg = models.FloatField(null=True, help_text="TOTAL_SCOPE_3_LBM_CARBON_EMISSIONS, kg")
    scope3_market_co2e_kg = models.FloatField(null=True, help_text="TOTAL_SCOPE_3_MBM_CARBON_EMISSIONS, kg")
    first_seen = models.DateTimeField(help_text="The collection that first returned this version")
    last_seen = models.DateTimeField(help_text="The latest collection that returned it")

    class Meta:
        ordering = ["account", "month", "region", "service", "first_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "usage_account_id", "region", "service", "month", "model_version", "origin"],
                name="one_aws_carbon_row_per_version",
            )
        ]
        indexes = [models.Index(fields=["service", "month"])]

    def __str__(self) -> str:
        return f"{self.usage_account_id} {self.region} {self.service} {self.month:%Y-%m} v{self.model_version}"


class IdleFinding(models.Model):
    """An idle SageMaker endpoint as AWS Compute Optimizer reports it (``GetIdleRecommendations``), matched to our
    endpoint by ARN. ``resolved_at`` is set when a later collection no longer returns it."""

    account = models.ForeignKey("collectors.AwsAccount", on_delete=models.CASCADE, related_name="idle_findings")
    region = models.CharField(max_length=32)
    resource_arn = models.CharField(max_length=2048)
    resource_id = models.CharField(max_length=256, blank=True)
    endpoint = models.ForeignKey(
        "collectors.Endpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="idle_findings"
    )
    finding = models.CharField(max_length=16, help_text="Idle, Unattached or Unused")
    description = models.TextField(blank=True)
    savings_pct = models.FloatField(null=True)
    monthly_savings = models.FloatField(null=True, help_text="estimatedMonthlySavings.value, in currency")
    monthly_savings_after_discounts = models.FloatField(null=True)
    currency = models.CharField(max_length=3, blank=True)
    lookback_days = models.FloatField(null=True)
    utilization_metrics = models.JSONField(default=list, help_text="[{name, statistic, value}] as AWS gives them")
    last_refreshed = models.DateTimeField(null=True, help_text="lastRefreshTimestamp")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["account", "region", "resource_arn"]
        constraints = [
            models.UniqueConstraint(fields=["account", "resource_arn"], name="one_idle_finding_per_resource")
        ]

    def __str__(self) -> str:
        return f"{self.finding}: {self.resource_arn}"


class CarbonExportManifest(models.Model):
    """One delivery of an account's CARBON_EMISSIONS Data Export that was read: its manifest, and what it held.

    Every delivery is read once (a manifest seen again unchanged costs nothing): a delivery restating a month
    under a new model version adds rows (``AwsCarbonEstimate`` with origin ``export``) beside the older
    version's, never over them, which is the per-version history the Sustainability API does not give."""

    account = models.ForeignKey("collectors.AwsAccount", on_delete=models.CASCADE, related_name="carbon_manifests")
    manifest_key = models.CharField(max_length=1024)
    manifest_modified = models.DateTimeField()
    billing_period = models.CharField(max_length=7, blank=True, help_text="YYYY-MM, from the key's partition")
    data_files = models.PositiveIntegerField()
    rows = models.PositiveIntegerField(help_text="Rows read (every account, region and service)")
    rows_new = models.PositiveIntegerField(help_text="Rows not held before: a new month or a new model version")
    read_at = models.DateTimeField()

    class Meta:
        ordering = ["account", "manifest_modified", "manifest_key"]
        constraints = [models.UniqueConstraint(fields=["account", "manifest_key"], name="one_carbon_manifest_per_key")]

    def __str__(self) -> str:
        return f"{self.account} {self.manifest_key}"
