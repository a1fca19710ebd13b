"""What /api/v1/training-jobs/, /api/v1/tuning-jobs/ and /api/v1/notebooks/ return (issue 19). Field names carry
their units. The period figures are ``workload_queries``' (``workload_totals``, ``tuning_totals``) over the request's
``start``..``end`` days, attached by the view as ``figures`` (a dict per object): never computed here."""

from rest_framework import serializers

from collectors.models import TuningJob, Workload

PERIOD_HELP = "over the request's period (start..end UTC days)"


def _figure(name: str, help_text: str, nullable: bool = False, integer: bool = False) -> serializers.Field:
    field = serializers.IntegerField if integer else serializers.FloatField
    return field(source=f"figures.{name}", read_only=True, allow_null=nullable, help_text=f"{help_text}, {PERIOD_HELP}")


def job_figure_fields() -> dict:
    """The ``workload_totals`` figures of one workload, in the order of its columns."""
    return {
        "hours": _figure("hours", "Distinct UTC hours it ran", integer=True),
        "instance_hours": _figure(
            "instance_hours", "Instance-hours (the timeline x the instance count: what AWS bills)"
        ),
        "spot_instance_hours": _figure("spot_instance_hours", "The instance-hours on managed Spot"),
        "cpu_util_pct": _figure(
            "cpu_util_pct", "CPU % per vCPU, instance-hour-weighted over hours with host metrics (null: none)", True
        ),
        "gpu_util_pct": _figure(
            "gpu_util_pct", "GPU % per GPU, instance-hour-weighted over hours with host metrics (null: none)", True
        ),
        "gpu_util_max_pct": _figure("gpu_util_max_pct", "The highest hourly GPU maximum (%)", True),
        "energy_kwh": _figure("energy_kwh", "Operational energy, PUE included (kWh)"),
        "co2e_kg": _figure("co2e_kg", "Operational CO2e, location-based (kg)"),
        "co2e_market_kg": _figure("co2e_market_kg", "Operational CO2e, market-based (kg; null: unknown)", True),
        "embodied_co2e_kg": _figure("embodied_co2e_kg", "Embodied CO2e (kg)"),
        "cost_usd": _figure(
            "cost_usd", "On-demand list cost (USD; managed Spot: the billable share); null where unpriced", True
        ),
    }


JOB_FIGURES = tuple(job_figure_fields())
PERIOD_FIELDS = {
    "period_start": serializers.DateField(source="figures.period_start", read_only=True, help_text="First UTC day"),
    "period_end": serializers.DateField(source="figures.period_end", read_only=True, help_text="Last UTC day"),
}


# The figures as declared fields of a base class (DRF collects declared fields from every base).
JobFigures = type("JobFigures", (serializers.Serializer,), {**PERIOD_FIELDS, **job_figure_fields()})


class _WorkloadBase(JobFigures, serializers.ModelSerializer):
    aws_account_id = serializers.CharField(source="account.account_id")
    team = serializers.CharField(source="team_tag", help_text="Its `team` tag, else empty")
    project = serializers.CharField(source="project_tag", help_text="Its `project` tag, else empty")


class TrainingJobSerializer(_WorkloadBase):
    """A training, processing or batch-transform job and its figures over the period."""

    # Text, not an enum in the schema: "kind" enums already name the recommendations' kinds.
    kind = serializers.CharField(read_only=True, help_text="training, processing or transform")

    class Meta:
        model = Workload
        fields = [
            "id",
            "kind",
            "name",
            "arn",
            "aws_account_id",
            "region",
            "status",
            "secondary_status",
            "failure_reason",
            "instance_type",
            "instance_count",
            "instance_groups",
            "spot",
            "tuning_job_id",
            "family",
            "framework",
            "volume_size_gb",
            "keep_alive_seconds",
            "max_runtime_seconds",
            "max_wait_seconds",
            "training_seconds",
            "billable_seconds",
            "created_time",
            "start_time",
            "end_time",
            "tags",
            "team",
            "project",
            "period_start",
            "period_end",
            *JOB_FIGURES,
        ]


class NotebookSerializer(_WorkloadBase):
    """A notebook instance or Studio app: auto-stop, its open idle alert, and its figures over the period."""

    kind = serializers.CharField(read_only=True, help_text="notebook or studio-app")

    open_alert_id = serializers.IntegerField(
        source="figures.open_alert_id", read_only=True, allow_null=True, help_text="Its open idle alert, if any"
    )
    idle_since = serializers.DateTimeField(
        source="figures.idle_since", read_only=True, allow_null=True, help_text="The open idle alert's start"
    )

    class Meta:
        model = Workload
        fields = [
            "id",
            "kind",
            "name",
            "arn",
            "aws_account_id",
            "region",
            "status",
            "instance_type",
            "instance_count",
            "auto_stop",
            "lifecycle_config_name",
            "domain_id",
            "space_name",
            "user_profile_name",
            "app_type",
            "created_time",
            "start_time",
            "deleted_at",
            "tags",
            "team",
            "project",
            "open_alert_id",
            "idle_since",
            "period_start",
            "period_end",
            *JOB_FIGURES,
        ]


class TuningJobSerializer(serializers.ModelSerializer):
    """A hyperparameter tuning job and its training jobs' figures over the period (``tuning_totals``)."""

    aws_account_id = serializers.CharField(source="account.account_id")
    period_start = PERIOD_FIELDS["period_start"]
    period_end = PERIOD_FIELDS["period_end"]
    children = _figure("children", "Its training jobs with hours", integer=True)
    instance_hours = _figure("instance_hours", "Its training jobs' instance-hours")
    energy_kwh = _figure("energy_kwh", "Its training jobs' operational energy (kWh)")
    co2e_kg = _figure("co2e_kg", "Its training jobs' operational CO2e, location-based (kg)")
    embodied_co2e_kg = _figure("embodied_co2e_kg", "Its training jobs' embodied CO2e (kg)")
    cost_usd = _figure("cost_usd", "Its training jobs' list cost (USD); null where none is priced", True)

    class Meta:
        model = TuningJob
        fields = [
            "id",
            "name",
            "arn",
            "aws_account_id",
            "region",
            "status",
            "failure_reason",
            "strategy",
            "max_parallel_jobs",
            "max_jobs",
            "warm_start_type",
            "warm_start_parents",
            "objective_metric",
            "status_counters",
            "created_time",
            "end_time",
            "tags",
            "period_start",
            "period_end",
            "children",
            "instance_hours",
            "energy_kwh",
            "co2e_kg",
            "embodied_co2e_kg",
            "cost_usd",
        ]
