from django.db import models


class VariantHour(models.Model):
    """One hour of one production variant: provisioned hardware and how busy it was.

        Utilizations are normalised to 0-100 % per vCPU / per GPU (CloudWatch sums them over cores and devices).
        ``instance_hours`` comes from the SampleCount of CPUUtilization: one datapoint per instance per publish period
    (``metric_publish_seconds``, 60 s unless the endpoint config's MetricsConfig says otherwise).
    """

    endpoint = models.ForeignKey("collectors.Endpoint", on_delete=models.CASCADE, related_name="hours")
    variant_name = models.CharField(max_length=63)
    hour = models.DateTimeField(help_text="Start of the UTC hour")
    instance_type = models.CharField(max_length=32, blank=True)
    serverless_memory_mb = models.PositiveIntegerField(null=True)
    config_assumed = models.BooleanField(default=False, help_text="Hour precedes the first known configuration")
    vcpus = models.PositiveIntegerField(null=True)
    gpus = models.PositiveIntegerField(null=True)
    instance_hours = models.FloatField(default=0.0)
    cpu_util_pct = models.FloatField(null=True)
    cpu_util_max_pct = models.FloatField(null=True)
    gpu_util_pct = models.FloatField(null=True)
    gpu_util_max_pct = models.FloatField(null=True)
    gpu_memory_util_pct = models.FloatField(null=True)
    memory_util_pct = models.FloatField(null=True)
    memory_util_max_pct = models.FloatField(null=True)
    disk_util_pct = models.FloatField(null=True)
    invocations = models.FloatField(null=True)
    model_latency_us = models.FloatField(null=True)
    metric_publish_seconds = models.PositiveIntegerField(
        default=60, help_text="Publish period of the utilization metrics instance_hours was counted with"
    )
    gpu_util_by_device = models.JSONField(
        null=True, blank=True, help_text="Enhanced metrics: each GPU's average utilization (0-100 %), by AcceleratorId"
    )
    cpu_reservation_pct = models.FloatField(null=True, help_text="Inference components: CPUReservation, 0-100 %")
    gpu_reservation_pct = models.FloatField(null=True, help_text="Inference components: GPUReservation, 0-100 %")
    memory_reservation_pct = models.FloatField(null=True, help_text="Inference components: MemoryReservation")
    collected_at = models.DateTimeField()

    class Meta:
        ordering = ["endpoint", "variant_name", "hour"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "variant_name", "hour"], name="one_row_per_hour")]
        indexes = [models.Index(fields=["hour"])]

    def __str__(self) -> str:
        return f"{self.endpoint_id}/{self.variant_name} @ {self.hour:%Y-%m-%d %H:00}"
