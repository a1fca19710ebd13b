from django.db import models


class Price(models.Model):
    """One on-demand list price from the AWS Price List, from its effective date on. A changed price is a new row
    (another ``effective_date``), never an update: an hour is priced by the row in effect then."""

    service = models.CharField(
        max_length=32, help_text="sagemaker-inference, sagemaker-serverless, cloudwatch-logs, s3"
    )
    sku = models.CharField(max_length=64, help_text="Instance type (ml.*), storage class, or what is priced")
    region = models.CharField(max_length=32)
    unit = models.CharField(max_length=16, help_text="hour, gb-second, request, gb-month")
    usd = models.DecimalField(max_digits=20, decimal_places=10)
    currency = models.CharField(max_length=3, default="USD")
    effective_date = models.DateTimeField()
    source_sku = models.CharField(max_length=32, help_text="The Price List product's SKU")
    usage_type = models.CharField(max_length=128, blank=True)
    collected_at = models.DateTimeField()

    class Meta:
        ordering = ["service", "sku", "region", "effective_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "sku", "region", "unit", "effective_date"], name="one_price_per_effective_date"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.service} {self.sku} {self.region}: {self.usd} USD/{self.unit} from {self.effective_date:%Y-%m-%d}"
        )
