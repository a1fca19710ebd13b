from django.db import models


class LogGroupSnapshot(models.Model):
    """A CloudWatch log group as seen on one UTC day. ``retention_days`` null means never expire."""

    account = models.ForeignKey("collectors.AwsAccount", on_delete=models.CASCADE, related_name="log_groups")
    region = models.CharField(max_length=32)
    name = models.CharField(max_length=512)
    day = models.DateField()
    stored_bytes = models.BigIntegerField()
    retention_days = models.PositiveIntegerField(null=True)
    log_group_class = models.CharField(max_length=32, blank=True)
    created_time = models.DateTimeField(null=True)
    collected_at = models.DateTimeField()

    class Meta:
        ordering = ["account", "region", "name", "day"]
        constraints = [
            models.UniqueConstraint(fields=["account", "region", "name", "day"], name="one_log_group_row_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.region}) on {self.day}"


class StorageLensDay(models.Model):
    """S3 Storage Lens bytes and objects for a bucket (``prefix`` empty) or a prefix, per storage class and day."""

    class Source(models.TextChoices):
        EXPORT = "export", "Metrics export"
        CLOUDWATCH = "cloudwatch", "CloudWatch (bucket level)"

    account = models.ForeignKey("collectors.AwsAccount", on_delete=models.CASCADE, related_name="storage_days")
    day = models.DateField()
    region = models.CharField(max_length=32, blank=True)
    bucket = models.CharField(max_length=63)
    prefix = models.CharField(max_length=1024, blank=True)
    storage_class = models.CharField(max_length=32)
    stored_bytes = models.BigIntegerField()
    object_count = models.BigIntegerField(null=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    configuration_id = models.CharField(max_length=64, blank=True)
    collected_at = models.DateTimeField()

    class Meta:
        ordering = ["account", "day", "bucket", "prefix"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "day", "bucket", "prefix", "storage_class"], name="one_lens_row_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} {self.storage_class} on {self.day}"
