from django.db import models


class CostExportDelivery(models.Model):
    """The delivery of one billing period of an account's cost export that was read last: its manifest, and when.

    A period is read again only when a newer manifest appears (AWS refreshes the current and previous month's
    export several times a day and may restate a closed month); its rows then replace the earlier delivery's."""

    account = models.ForeignKey("collectors.AwsAccount", on_delete=models.CASCADE, related_name="cost_deliveries")
    billing_period = models.CharField(max_length=7, help_text="YYYY-MM")
    manifest_key = models.CharField(max_length=1024)
    manifest_modified = models.DateTimeField()
    export_format = models.CharField(max_length=16, help_text="CUR 2.0 or FOCUS 1.x")
    data_files = models.PositiveIntegerField()
    lines = models.PositiveIntegerField(help_text="SageMaker lines read (negations left out)")
    read_at = models.DateTimeField()

    class Meta:
        ordering = ["account", "billing_period"]
        constraints = [models.UniqueConstraint(fields=["account", "billing_period"], name="one_delivery_per_period")]

    def __str__(self) -> str:
        return f"{self.account} {self.billing_period}: {self.manifest_key}"


class BilledCostDay(models.Model):
    """Billed (net amortized) and list cost of SageMaker per UTC day from the customer's cost export.

    A row with an ``endpoint_name`` is an endpoint's hosting cost for one usage type; a row with a ``reason`` is
    SageMaker cost no endpoint carries (unused commitment, training, notebooks, lines without a resource id), so
    the rows of a period add up to the export's SageMaker total."""

    account = models.ForeignKey("collectors.AwsAccount", on_delete=models.CASCADE, related_name="billed_days")
    billing_period = models.CharField(max_length=7)
    day = models.DateField()
    region = models.CharField(max_length=32, blank=True)
    endpoint_name = models.CharField(max_length=63, blank=True, help_text="Lower case, as in the ARN")
    endpoint = models.ForeignKey(
        "collectors.Endpoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="billed_days"
    )
    usage_type = models.CharField(max_length=128, blank=True)
    instance_type = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=32, blank=True, help_text="Why no endpoint carries it; empty if one does")
    resource_id = models.CharField(max_length=1024, blank=True)
    instance_hours = models.FloatField(default=0.0)
    list_cost_usd = models.FloatField(default=0.0)
    billed_cost_usd = models.FloatField()

    class Meta:
        ordering = ["account", "day", "endpoint_name", "usage_type"]
        indexes = [
            models.Index(fields=["endpoint", "day"], name="billed_endpoint_day"),
            models.Index(fields=["account", "billing_period"], name="billed_account_period"),
        ]

    def __str__(self) -> str:
        what = self.endpoint_name or self.reason
        return f"{self.day} {what} {self.usage_type}: ${self.billed_cost_usd:.2f}"
