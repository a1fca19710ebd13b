"""Inference components: models that share an endpoint variant's instances, each reserving CPU cores,
accelerators and memory per copy and scaling its copies (down to zero) on its own."""

from django.db import models


class InferenceComponent(models.Model):
    """An inference component as last seen; ``deleted_at`` is set when it disappears from ListInferenceComponents."""

    endpoint = models.ForeignKey("collectors.Endpoint", on_delete=models.CASCADE, related_name="inference_components")
    variant_name = models.CharField(max_length=63)
    name = models.CharField(max_length=63)
    arn = models.CharField(max_length=2048, blank=True)
    status = models.CharField(max_length=32, blank=True)
    failure_reason = models.TextField(blank=True)
    created_time = models.DateTimeField(null=True)
    last_modified_time = models.DateTimeField(null=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["endpoint", "name"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "name"], name="one_component_per_endpoint_name")]

    def __str__(self) -> str:
        return f"{self.endpoint.name}/{self.name}"


class ComponentConfig(models.Model):
    """One inference component's specification over a span of time. Rows are closed, never overwritten; the copy
    count SageMaker reports now (``current_copy_count``) is an observation, updated in place."""

    component = models.ForeignKey(InferenceComponent, on_delete=models.CASCADE, related_name="configs")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    model_name = models.CharField(max_length=63, blank=True)
    cpu_cores_required = models.FloatField(null=True, help_text="NumberOfCpuCoresRequired, per copy")
    accelerators_required = models.FloatField(null=True, help_text="NumberOfAcceleratorDevicesRequired, per copy")
    min_memory_mb = models.PositiveIntegerField(null=True, help_text="MinMemoryRequiredInMb, per copy")
    max_memory_mb = models.PositiveIntegerField(null=True, help_text="MaxMemoryRequiredInMb, per copy")
    accelerator_partition_type = models.CharField(max_length=32, blank=True)
    desired_copy_count = models.PositiveIntegerField(null=True)
    current_copy_count = models.PositiveIntegerField(null=True)
    history_source = models.CharField(max_length=16, default="observed")

    class Meta:
        ordering = ["component", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["component"], condition=models.Q(valid_to__isnull=True), name="one_open_config_per_component"
            )
        ]

    def __str__(self) -> str:
        return f"{self.component}: {self.desired_copy_count} copies from {self.valid_from:%Y-%m-%d %H:%M}"


class ComponentHour(models.Model):
    """One hour of one inference component: its copies, what they reserved and how busy they were.

    Utilizations are the ``*UtilizationNormalized`` metrics of ``/aws/sagemaker/InferenceComponents``: 0-100 % of
    what the copies reserved. ``copies`` is the average number of copies over the hour (SampleCount of
    ``CPUUtilizationNormalized`` x publish period / 3600; 0 when no copy reported).
    Reservations are totals over the copies: cores, accelerator devices and MB of memory."""

    component = models.ForeignKey(InferenceComponent, on_delete=models.CASCADE, related_name="hours")
    hour = models.DateTimeField(help_text="Start of the UTC hour")
    copies = models.FloatField(default=0.0)
    cpu_cores_reserved = models.FloatField(null=True)
    accelerators_reserved = models.FloatField(null=True)
    memory_reserved_mb = models.FloatField(null=True)
    cpu_util_pct = models.FloatField(null=True)
    gpu_util_pct = models.FloatField(null=True)
    gpu_memory_util_pct = models.FloatField(null=True)
    memory_util_pct = models.FloatField(null=True)
    invocations = models.FloatField(null=True)
    invocations_per_copy = models.FloatField(null=True)
    model_latency_us = models.FloatField(null=True)
    collected_at = models.DateTimeField()

    class Meta:
        ordering = ["component", "hour"]
        constraints = [models.UniqueConstraint(fields=["component", "hour"], name="one_component_row_per_hour")]
        indexes = [models.Index(fields=["hour"])]

    def __str__(self) -> str:
        return f"{self.component_id} @ {self.hour:%Y-%m-%d %H:00}"
