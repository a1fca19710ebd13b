"""The rest of the ML lifecycle (issue 19): training, processing and batch-transform jobs, hyperparameter tuning
jobs, notebook instances and Studio apps, and their hours.

One ``Workload`` table holds every kind (a job, a notebook instance or a Studio app: something that runs on
provisioned ML instances for a while); ``WorkloadHour`` is one UTC hour of one workload on one instance type,
shaped like ``VariantHour`` so the estimator takes it the same way. Jobs' hours come from their timeline (what AWS
bills: start to end, times the instance count) with utilization from the ``/aws/sagemaker/{TrainingJobs,
ProcessingJobs,TransformJobs}`` host metrics (normalised per vCPU / per GPU: CloudWatch sums them); notebooks'
and apps' from their status spans, with no utilization metric (``util_source`` "assumed")."""

from django.db import models
from django.db.models import Q


class WorkloadKind(models.TextChoices):
    TRAINING = "training", "Training job"
    PROCESSING = "processing", "Processing job"
    TRANSFORM = "transform", "Batch transform job"
    NOTEBOOK = "notebook", "Notebook instance"
    STUDIO_APP = "studio-app", "Studio app"


JOB_KINDS = (WorkloadKind.TRAINING, WorkloadKind.PROCESSING, WorkloadKind.TRANSFORM)
INTERACTIVE_KINDS = (WorkloadKind.NOTEBOOK, WorkloadKind.STUDIO_APP)
# Statuses in which a workload runs (and is billed): jobs until they end, notebooks and apps while in service.
RUNNING_STATUSES = ("InProgress", "Stopping", "InService", "Pending", "Updating")


class TuningJob(models.Model):
    """A hyperparameter tuning job: its strategy and limits; its training jobs are ``Workload`` rows pointing here."""

    account = models.ForeignKey("collectors.AwsAccount", on_delete=models.CASCADE, related_name="tuning_jobs")
    region = models.CharField(max_length=32)
    name = models.CharField(max_length=63)
    arn = models.CharField(max_length=2048, blank=True)
    status = models.CharField(max_length=32, blank=True)
    failure_reason = models.TextField(blank=True)
    strategy = models.CharField(max_length=16, blank=True, help_text="Bayesian, Random, Grid or Hyperband")
    max_parallel_jobs = models.PositiveIntegerField(null=True)
    max_jobs = models.PositiveIntegerField(null=True, help_text="ResourceLimits.MaxNumberOfTrainingJobs")
    warm_start_type = models.CharField(max_length=32, blank=True, help_text="Empty: no warm start")
    warm_start_parents = models.JSONField(default=list, blank=True)
    objective_metric = models.CharField(max_length=255, blank=True)
    status_counters = models.JSONField(default=dict, blank=True, help_text="TrainingJobStatusCounters")
    created_time = models.DateTimeField(null=True)
    end_time = models.DateTimeField(null=True)
    last_modified_time = models.DateTimeField(null=True)
    tags = models.JSONField(default=dict, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["account", "region", "name"]
        constraints = [models.UniqueConstraint(fields=["account", "region", "name"], name="one_tuning_job_per_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.strategy or '?'})"


class Workload(models.Model):
    """A training, processing or transform job, a notebook instance or a Studio app, as last described."""

    account = models.ForeignKey("collectors.AwsAccount", on_delete=models.CASCADE, related_name="workloads")
    region = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=WorkloadKind.choices)
    name = models.CharField(max_length=255, help_text="Job, notebook instance or app name (apps: domain/owner/app)")
    arn = models.CharField(max_length=2048, blank=True)
    status = models.CharField(max_length=32, blank=True)
    secondary_status = models.CharField(max_length=64, blank=True)
    failure_reason = models.TextField(blank=True)
    instance_type = models.CharField(max_length=32, blank=True, help_text="The (first) instance group's type")
    instance_count = models.PositiveIntegerField(default=1)
    instance_groups = models.JSONField(
        null=True, blank=True, help_text="Heterogeneous clusters: [{name, instance_type, instance_count}]"
    )
    volume_size_gb = models.FloatField(null=True)
    keep_alive_seconds = models.PositiveIntegerField(null=True, help_text="Warm pool: KeepAlivePeriodInSeconds")
    spot = models.BooleanField(default=False, help_text="EnableManagedSpotTraining")
    max_runtime_seconds = models.PositiveIntegerField(null=True)
    max_wait_seconds = models.PositiveIntegerField(null=True)
    tuning_job = models.ForeignKey(TuningJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    family = models.CharField(
        max_length=255, blank=True, help_text="The name without the SDK's timestamp or counter: groups reruns"
    )
    image_uri = models.CharField(max_length=1024, blank=True)
    framework = models.CharField(max_length=64, blank=True, help_text="pytorch, tensorflow, huggingface, xgboost…")
    created_time = models.DateTimeField(null=True)
    start_time = models.DateTimeField(null=True)
    end_time = models.DateTimeField(null=True, help_text="Null while it runs")
    last_modified_time = models.DateTimeField(null=True)
    training_seconds = models.PositiveIntegerField(null=True, help_text="TrainingTimeInSeconds")
    billable_seconds = models.PositiveIntegerField(null=True, help_text="BillableTimeInSeconds (spot: what was paid)")
    lifecycle_config_name = models.CharField(max_length=63, blank=True)
    auto_stop = models.BooleanField(
        null=True, help_text="Notebook: its lifecycle configuration stops it when idle; app: idle shutdown enabled"
    )
    domain_id = models.CharField(max_length=63, blank=True)
    space_name = models.CharField(max_length=63, blank=True)
    user_profile_name = models.CharField(max_length=63, blank=True)
    app_type = models.CharField(max_length=32, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)
    metrics_through = models.DateTimeField(
        null=True, blank=True, help_text="Host metrics read up to this hour (exclusive); a finished job's reach its end"
    )

    class Meta:
        ordering = ["account", "region", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "region", "kind", "name"], name="one_workload_per_name")
        ]
        indexes = [models.Index(fields=["kind", "start_time"]), models.Index(fields=["account", "family"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"

    @property
    def running(self) -> bool:
        return self.deleted_at is None and self.status in RUNNING_STATUSES

    @property
    def team_tag(self) -> str:
        return str((self.tags or {}).get("team", ""))

    @property
    def project_tag(self) -> str:
        return str((self.tags or {}).get("project", ""))


class WorkloadStatusSpan(models.Model):
    """A notebook instance's or Studio app's status over a span of time (from CloudTrail's Start/Stop/Create/Delete
    events where readable, else as observed by successive collections); at most one open span per workload."""

    class Origin(models.TextChoices):
        CLOUDTRAIL = "cloudtrail", "CloudTrail"
        OBSERVED = "observed", "Observed"

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="spans")
    status = models.CharField(max_length=32)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    origin = models.CharField(max_length=16, choices=Origin.choices)

    class Meta:
        ordering = ["workload", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["workload"], condition=Q(valid_to__isnull=True), name="one_open_span_per_workload"
            )
        ]

    def __str__(self) -> str:
        return f"{self.workload}: {self.status} from {self.valid_from:%Y-%m-%d %H:%M}"


class WorkloadHour(models.Model):
    """One UTC hour of one workload on one instance type (heterogeneous clusters have a row per type).

    ``instance_hours`` is the timeline's overlap with the hour times the instance count (what AWS bills);
    ``spot_instance_hours`` the part of it on managed Spot. Utilizations are normalised to 0-100 % per vCPU / per
    GPU and averaged over the hosts (``hosts``: how many reported); null where no metric exists (notebooks, apps,
    a job before its metrics are read), which the estimator charges at its default and says so."""

    class UtilSource(models.TextChoices):
        METRICS = "metrics", "Host metrics"
        ASSUMED = "assumed", "Assumed (no metric)"

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="hours")
    kind = models.CharField(max_length=16, choices=WorkloadKind.choices, help_text="The workload's, for grouping")
    hour = models.DateTimeField(help_text="Start of the UTC hour")
    instance_type = models.CharField(max_length=32)
    vcpus = models.PositiveIntegerField(null=True)
    gpus = models.PositiveIntegerField(null=True)
    accelerators = models.PositiveIntegerField(null=True, help_text="Trainium / Inferentia devices")
    instance_hours = models.FloatField(default=0.0)
    spot_instance_hours = models.FloatField(default=0.0)
    hosts = models.PositiveIntegerField(default=0, help_text="Hosts whose metrics were read for this hour")
    cpu_util_pct = models.FloatField(null=True)
    cpu_util_max_pct = models.FloatField(null=True)
    gpu_util_pct = models.FloatField(null=True)
    gpu_util_max_pct = models.FloatField(null=True)
    gpu_memory_util_pct = models.FloatField(null=True)
    memory_util_pct = models.FloatField(null=True)
    disk_util_pct = models.FloatField(null=True)
    gpu_util_by_host = models.JSONField(null=True, blank=True, help_text="Each host's average GPU %, by host")
    util_source = models.CharField(max_length=8, choices=UtilSource.choices, default=UtilSource.ASSUMED)
    collected_at = models.DateTimeField()

    class Meta:
        ordering = ["workload", "hour", "instance_type"]
        constraints = [
            models.UniqueConstraint(fields=["workload", "instance_type", "hour"], name="one_workload_row_per_hour")
        ]
        indexes = [models.Index(fields=["hour"]), models.Index(fields=["kind", "hour"])]

    def __str__(self) -> str:
        return f"{self.workload_id} {self.instance_type} @ {self.hour:%Y-%m-%d %H:00}"
