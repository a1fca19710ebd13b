from django.db import models


class EndpointMode(models.TextChoices):
    REALTIME = "realtime", "Real-time"
    ASYNC = "async", "Asynchronous"
    SERVERLESS = "serverless", "Serverless"
    MULTI_MODEL = "multi-model", "Multi-model"
    MULTI_CONTAINER = "multi-container", "Multi-container"


class Endpoint(models.Model):
    """A SageMaker endpoint as last seen; ``deleted_at`` is set when it disappears from ListEndpoints."""

    account = models.ForeignKey("collectors.AwsAccount", on_delete=models.CASCADE, related_name="endpoints")
    region = models.CharField(max_length=32)
    name = models.CharField(max_length=63)
    arn = models.CharField(max_length=2048, blank=True)
    status = models.CharField(max_length=32, blank=True)
    failure_reason = models.TextField(blank=True)
    mode = models.CharField(max_length=16, choices=EndpointMode.choices, default=EndpointMode.REALTIME)
    config_name = models.CharField(max_length=63, blank=True)
    tags = models.JSONField(default=dict)
    capture_enabled = models.BooleanField(default=False)
    capture_pct = models.PositiveSmallIntegerField(null=True)
    capture_destination = models.CharField(max_length=1024, blank=True)
    created_time = models.DateTimeField(null=True)
    last_modified_time = models.DateTimeField(null=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)
    discovered_from = models.CharField(
        max_length=16,
        default="inventory",
        help_text="inventory (ListEndpoints) or cloudtrail (deleted before the first collection, found in its events)",
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "region", "name"], name="one_endpoint_per_place")]

    def __str__(self) -> str:
        return f"{self.name} ({self.region})"

    @property
    def team_tag(self) -> str:
        return self.tags.get("team", "")


class VariantConfig(models.Model):
    """One production variant's configuration over a span of time. Rows are closed, never overwritten."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="variant_configs")
    variant_name = models.CharField(max_length=63)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    endpoint_config_name = models.CharField(max_length=63, blank=True)
    model_name = models.CharField(max_length=63, blank=True)
    model_mode = models.CharField(max_length=32, blank=True)  # SingleModel, MultiModel, Serial, Direct
    instance_type = models.CharField(max_length=32, blank=True)  # empty for serverless
    initial_instance_count = models.PositiveIntegerField(null=True)
    current_instance_count = models.PositiveIntegerField(null=True)
    desired_instance_count = models.PositiveIntegerField(null=True)
    weight = models.FloatField(null=True)
    accelerator_type = models.CharField(max_length=32, blank=True)
    serverless_memory_mb = models.PositiveIntegerField(null=True)
    serverless_max_concurrency = models.PositiveIntegerField(null=True)
    serverless_provisioned_concurrency = models.PositiveIntegerField(null=True)
    min_instance_count = models.PositiveIntegerField(null=True)
    max_instance_count = models.PositiveIntegerField(null=True)
    metric_publish_seconds = models.PositiveIntegerField(
        null=True, help_text="MetricsConfig.MetricPublishFrequencyInSeconds of the endpoint config (NULL: 60 s)"
    )
    enhanced_metrics = models.BooleanField(default=False, help_text="MetricsConfig.EnableEnhancedMetrics")
    inference_components = models.BooleanField(
        default=False, help_text="The variant hosts inference components (no ModelName in the config)"
    )
    history_source = models.CharField(
        max_length=16,
        default="observed",
        help_text="observed (described by the inventory) or cloudtrail (rebuilt from CloudTrail events)",
    )

    class Meta:
        ordering = ["endpoint", "variant_name", "valid_from"]
        indexes = [models.Index(fields=["endpoint", "variant_name", "valid_from"])]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "variant_name"],
                condition=models.Q(valid_to__isnull=True),
                name="one_open_config_per_variant",
            )
        ]

    def __str__(self) -> str:
        what = self.instance_type or f"serverless {self.serverless_memory_mb} MB"
        return f"{self.endpoint.name}/{self.variant_name}: {what} from {self.valid_from:%Y-%m-%d %H:%M}"

    @property
    def serverless(self) -> bool:
        return self.serverless_memory_mb is not None
