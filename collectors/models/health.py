from django.db import models


class Source(models.TextChoices):
    INVENTORY = "inventory", "Endpoints and configuration"
    UTILIZATION = "utilization", "CloudWatch utilization"
    LOG_GROUPS = "log_groups", "CloudWatch log groups"
    STORAGE_LENS = "storage_lens", "S3 Storage Lens"
    PRICES = "prices", "AWS Price List"
    COST_EXPORTS = "cost_exports", "Cost export (CUR 2.0 / FOCUS)"
    CLOUDTRAIL = "cloudtrail", "CloudTrail configuration history"
    AWS_CARBON = "aws_carbon", "AWS carbon estimates (Sustainability API)"
    COMPUTE_OPTIMIZER = "compute_optimizer", "Compute Optimizer idle findings"
    CARBON_EXPORT = "carbon_export", "AWS carbon estimates (CARBON_EMISSIONS export)"
    JOBS = "jobs", "Training, tuning, processing and transform jobs"
    JOB_METRICS = "job_metrics", "Job host metrics (CloudWatch)"
    NOTEBOOKS = "notebooks", "Notebook instances and Studio apps"


class CollectionState(models.Model):
    """Watermark, lease and health of one collector for one account and region."""

    account = models.ForeignKey("collectors.AwsAccount", on_delete=models.CASCADE, related_name="collection_states")
    region = models.CharField(max_length=32)
    source = models.CharField(max_length=32, choices=Source.choices)
    watermark = models.DateTimeField(null=True, help_text="Data before this instant is complete")
    lease_until = models.DateTimeField(null=True, help_text="A run holds the collector until then")
    lease_owner = models.CharField(max_length=64, blank=True, help_text="Task id (or process) holding the lease")
    last_attempt = models.DateTimeField(null=True)
    last_success = models.DateTimeField(null=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_api_calls = models.PositiveIntegerField(default=0)
    last_summary = models.JSONField(default=dict)
    backfill_from = models.DateTimeField(
        null=True,
        help_text="Utilization: where the first collection starts; kept until one succeeds, so a first "
        "run that fails never shortens the backfill",
    )
    resource_errors = models.JSONField(
        default=list, help_text="Errors of single resources in the last run ({resource, error}); the run went on"
    )
    recovered_error = models.TextField(
        blank=True, help_text="A transient error (database, broker) the last run was retried after"
    )

    class Meta:
        ordering = ["account", "region", "source"]
        constraints = [models.UniqueConstraint(fields=["account", "region", "source"], name="one_state_per_source")]

    def __str__(self) -> str:
        return f"{self.account} {self.region} {self.source}"


class WorkerHeartbeat(models.Model):
    """One row per Celery worker host, touched by the periodic heartbeat task."""

    hostname = models.CharField(max_length=255, unique=True)
    last_seen = models.DateTimeField()
    beats = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"
