"""What the API returns. Field names carry their units (``energy_kwh``, ``co2e_kg``, ``stored_bytes``)."""

from rest_framework import serializers

from collectors.models import AwsAccount, Endpoint, InferenceComponent, LogGroupSnapshot, StorageLensDay, VariantConfig
from dashboard.footprint.measures import ESTIMATED, PARTIAL, SUMMED
from dashboard.recommend.models import Recommendation

# The summed measures the API reports, in the order of its columns: the estimates, then the usage they cost.
FOOTPRINT = (*ESTIMATED, "invocations", "instance_hours")
assert set(FOOTPRINT) <= set(SUMMED), "the API reports only what the footprint sums"
# Their FOCUS names: FOCUS 1.2's own ConsumedQuantity for instance-hours, ``x_`` extensions (the specification's
# convention for custom columns) for the rest. A measure added to FOOTPRINT needs one here.
FOCUS_NAMES = {
    "energy_kwh": "x_EnergyKwh",
    "co2e_kg": "x_CO2eLocationKg",
    "co2e_market_kg": "x_CO2eMarketKg",
    "co2e_kg_low": "x_CO2eLocationKgLow",
    "co2e_kg_high": "x_CO2eLocationKgHigh",
    "embodied_co2e_kg": "x_EmbodiedCO2eKg",
    "invocations": "x_Invocations",
    "instance_hours": "ConsumedQuantity",
}
FOCUS_MEASURES = {name: FOCUS_NAMES[name] for name in FOOTPRINT}
NULLABLE_FOCUS = {FOCUS_NAMES[name] for name in PARTIAL}


# Help of the measures whose meaning the name alone does not carry: the two CO2e figures (GHG Protocol Scope 2
# dual reporting).
MEASURE_HELP = {
    "co2e_kg": "Operational CO2e, location-based: the grid the load draws from (kg)",
    "co2e_market_kg": (
        "Operational CO2e, market-based: after AWS's renewable-energy purchases (kg); null while any hour summed "
        "lacks it (estimated before methodology 2.0.0 and not yet re-estimated)"
    ),
}


def measure_field(name: str) -> serializers.FloatField:
    """The field of one summed measure: nullable for a ``measures.PARTIAL`` one (null, never 0, when unknown)."""
    return serializers.FloatField(allow_null=name in PARTIAL, help_text=MEASURE_HELP.get(name))


def measure_fields(names=FOOTPRINT) -> dict:
    """A float field per summed measure, in ``names``' order (fields are ordered by creation)."""
    return {name: measure_field(name) for name in names}


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = AwsAccount
        fields = ["id", "account_id", "name", "regions", "enabled", "role_arn", "created_at"]


class VariantSerializer(serializers.ModelSerializer):
    endpoint_id = serializers.IntegerField()
    instance_count = serializers.SerializerMethodField()

    class Meta:
        model = VariantConfig
        fields = [
            "id",
            "endpoint_id",
            "variant_name",
            "valid_from",
            "valid_to",
            "instance_type",
            "instance_count",
            "initial_instance_count",
            "min_instance_count",
            "max_instance_count",
            "serverless_memory_mb",
            "serverless_max_concurrency",
            "accelerator_type",
            "model_name",
            "model_mode",
            "endpoint_config_name",
            "weight",
        ]

    def get_instance_count(self, config) -> int | None:
        return config.current_instance_count or config.initial_instance_count


Summary30dSerializer = type("Summary30dSerializer", (serializers.Serializer,), measure_fields())


def _times(per_copy: float | None, copies: int | None) -> float | None:
    return None if per_copy is None else float(per_copy) * (copies or 0)


class InferenceComponentSerializer(serializers.ModelSerializer):
    """An inference component as last seen, with its latest configuration (annotated by the endpoint list's
    prefetch, ``components.latest_components``): per-copy requirements, and what its copies reserve now."""

    status = serializers.CharField()
    copy_count = serializers.IntegerField(allow_null=True, help_text="Copies running now (CurrentCopyCount)")
    desired_copy_count = serializers.IntegerField(allow_null=True, help_text="DesiredCopyCount")
    cpu_cores_required = serializers.FloatField(allow_null=True, help_text="NumberOfCpuCoresRequired, per copy")
    accelerators_required = serializers.FloatField(
        allow_null=True, help_text="NumberOfAcceleratorDevicesRequired, per copy"
    )
    min_memory_mb = serializers.IntegerField(allow_null=True, help_text="MinMemoryRequiredInMb, per copy")
    cpu_cores_reserved = serializers.SerializerMethodField(help_text="CPU cores the copies reserve now")
    accelerators_reserved = serializers.SerializerMethodField(help_text="Accelerator devices the copies reserve now")
    memory_reserved_mb = serializers.SerializerMethodField(help_text="Memory the copies reserve now (MB)")

    class Meta:
        model = InferenceComponent
        fields = [
            "name",
            "variant_name",
            "status",
            "copy_count",
            "desired_copy_count",
            "cpu_cores_required",
            "accelerators_required",
            "min_memory_mb",
            "cpu_cores_reserved",
            "accelerators_reserved",
            "memory_reserved_mb",
            "deleted_at",
        ]

    def get_cpu_cores_reserved(self, component) -> float | None:
        return _times(component.cpu_cores_required, component.copy_count)

    def get_accelerators_reserved(self, component) -> float | None:
        return _times(component.accelerators_required, component.copy_count)

    def get_memory_reserved_mb(self, component) -> float | None:
        return _times(component.min_memory_mb, component.copy_count)


class EndpointSerializer(serializers.ModelSerializer):
    aws_account_id = serializers.CharField(source="account.account_id")
    variants = serializers.SerializerMethodField()
    inference_components = serializers.SerializerMethodField(
        help_text="The endpoint's inference components (models sharing its instances), deleted ones with "
        "deleted_at; empty for an endpoint without them"
    )
    summary_30d = serializers.SerializerMethodField()

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "aws_account_id",
            "region",
            "name",
            "arn",
            "status",
            "mode",
            "tags",
            "capture_enabled",
            "capture_pct",
            "created_time",
            "last_modified_time",
            "first_seen",
            "last_seen",
            "deleted_at",
            "variants",
            "inference_components",
            "summary_30d",
        ]

    def get_variants(self, endpoint) -> list[dict]:
        configs = [c for c in endpoint.variant_configs.all() if c.valid_to is None]
        return VariantSerializer(configs, many=True).data

    def get_inference_components(self, endpoint) -> InferenceComponentSerializer(many=True):
        return InferenceComponentSerializer(endpoint.inference_components.all(), many=True).data

    def get_summary_30d(self, endpoint) -> Summary30dSerializer:
        zero = dict.fromkeys(FOOTPRINT, 0.0)
        return self.context.get("summaries", {}).get(endpoint.pk, zero)


class UsageHourSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    endpoint_id = serializers.IntegerField()
    variant_name = serializers.CharField()
    hour = serializers.DateTimeField()
    instance_type = serializers.CharField()
    instance_hours = serializers.FloatField()
    cpu_util_pct = serializers.FloatField(allow_null=True)
    gpu_util_pct = serializers.FloatField(allow_null=True)
    gpu_memory_util_pct = serializers.FloatField(allow_null=True)
    memory_util_pct = serializers.FloatField(allow_null=True)
    disk_util_pct = serializers.FloatField(allow_null=True)
    invocations = serializers.FloatField(allow_null=True)
    model_latency_us = serializers.FloatField(allow_null=True)
    energy_kwh = serializers.FloatField(allow_null=True, source="estimate.energy_kwh", default=None)
    co2e_kg = serializers.FloatField(
        allow_null=True, source="estimate.co2e_kg", default=None, help_text=MEASURE_HELP["co2e_kg"]
    )
    co2e_market_kg = serializers.FloatField(
        allow_null=True, source="estimate.co2e_market_kg", default=None, help_text=MEASURE_HELP["co2e_market_kg"]
    )
    embodied_co2e_kg = serializers.FloatField(allow_null=True, source="estimate.embodied_co2e_kg", default=None)


class UsageDaySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    endpoint_id = serializers.IntegerField()
    variant_name = serializers.CharField()
    day = serializers.DateField()
    instance_type = serializers.CharField()
    hours = serializers.IntegerField()
    instance_hours = serializers.FloatField()
    cpu_util_pct = serializers.FloatField(allow_null=True)
    gpu_util_pct = serializers.FloatField(allow_null=True)
    memory_util_pct = serializers.FloatField(allow_null=True)
    invocations = serializers.FloatField()
    energy_kwh = serializers.FloatField()
    co2e_kg = measure_field("co2e_kg")
    co2e_market_kg = measure_field("co2e_market_kg")
    co2e_kg_low = serializers.FloatField()
    co2e_kg_high = serializers.FloatField()
    embodied_co2e_kg = serializers.FloatField()


class LogGroupSerializer(serializers.ModelSerializer):
    aws_account_id = serializers.CharField(source="account.account_id")

    class Meta:
        model = LogGroupSnapshot
        fields = [
            "id",
            "aws_account_id",
            "region",
            "name",
            "day",
            "stored_bytes",
            "retention_days",
            "log_group_class",
            "created_time",
        ]


class StorageSerializer(serializers.ModelSerializer):
    aws_account_id = serializers.CharField(source="account.account_id")

    class Meta:
        model = StorageLensDay
        fields = [
            "id",
            "aws_account_id",
            "day",
            "region",
            "bucket",
            "prefix",
            "storage_class",
            "stored_bytes",
            "object_count",
            "source",
        ]


class TextOnly(serializers.CharField):
    """Text only: DRF's CharField would store ``0`` as "0", which the schema's ``type: string`` refuses."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class RecommendationSerializer(serializers.ModelSerializer):
    aws_account_id = serializers.CharField(source="account.account_id", read_only=True)
    dismissed_reason = TextOnly(required=False, allow_blank=True)

    class Meta:
        model = Recommendation
        fields = [
            "id",
            "kind",
            "subject",
            "aws_account_id",
            "region",
            "endpoint_id",
            "variant_name",
            "title",
            "proposal",
            "proposed",
            "evidence",
            "evidence_hours",
            "evidence_start",
            "evidence_end",
            "monthly_kwh_saved",
            "monthly_co2e_kg_saved",
            "monthly_co2e_kg_saved_low",
            "monthly_co2e_kg_saved_high",
            "monthly_usd_saved",
            "monthly_usd_saved_billed",
            "confidence",
            "caveats",
            "cli_command",
            "status",
            "dismissed_reason",
            "snoozed_until",
            "resolved_at",
            "first_seen",
            "computed_at",
        ]
        read_only_fields = [f for f in fields if f not in ("status", "dismissed_reason", "snoozed_until")]

    def validate(self, attrs):
        from django.utils import timezone

        status = attrs.get("status", getattr(self.instance, "status", None))
        if status not in (Recommendation.Status.OPEN, Recommendation.Status.DISMISSED, Recommendation.Status.SNOOZED):
            raise serializers.ValidationError({"status": "Set status to open, dismissed or snoozed."})
        if status == Recommendation.Status.DISMISSED and not attrs.get("dismissed_reason", "").strip():
            raise serializers.ValidationError({"dismissed_reason": "Say why it is dismissed."})
        if status == Recommendation.Status.SNOOZED:
            until = attrs.get("snoozed_until")
            if until is None or until <= timezone.now().date():
                raise serializers.ValidationError({"snoozed_until": "Snooze until a date after today."})
        if status == Recommendation.Status.OPEN:
            attrs.update(dismissed_reason="", snoozed_until=None)
        return attrs


class MethodologyInUseSerializer(serializers.Serializer):
    methodology = serializers.CharField()
    version = serializers.CharField()


class MethodologyEntrySerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()
    description = serializers.CharField(allow_blank=True)


class GridFactorSerializer(serializers.Serializer):
    region = serializers.CharField(help_text="AWS region; '*' applies to any region not listed")
    location = serializers.CharField(allow_blank=True)
    kgco2e_per_kwh = serializers.FloatField(help_text="Location-based: the grid the load draws from (co2e_kg)")
    basis = serializers.CharField(allow_blank=True, help_text="e.g. egrid-subregion-combustion, ember-national")
    source = serializers.CharField()
    source_year = serializers.IntegerField()
    market_kgco2e_per_kwh = serializers.FloatField(
        help_text="Market-based (co2e_market_kg): 0 where AWS reports 100 % renewable matching"
    )
    market_fallback = serializers.BooleanField(
        help_text="No market-based factor is published for the region: the location-based one stands in"
    )
    market_source = serializers.CharField()
    pue = serializers.FloatField(help_text="Power usage effectiveness applied to the region's energy")
    pue_fallback = serializers.BooleanField(help_text="AWS publishes no PUE for the region: its global figure")
    pue_source_id = serializers.CharField()


class MethodologySerializer(serializers.Serializer):
    in_use = MethodologyInUseSerializer()
    methodologies = MethodologyEntrySerializer(many=True)
    grid_factors = GridFactorSerializer(
        many=True, help_text="Per region: location- and market-based kg CO2e per kWh and PUE, with their sources"
    )
    documentation = serializers.CharField(help_text="Path of the methodology page")


COST_BASIS_HELP = (
    "What the cost columns are: 'billed' (BilledCost and EffectiveCost are the account's cost export's net amortized "
    "cost of the row: discounts and Savings Plans applied; ListCost and ContractedCost the on-demand list cost), "
    "'list' (no billed line: all four are the on-demand list price x instance-hours; no discount is assumed) or "
    "'unpriced' (no list price is known for the type and region: the cost columns are 0, which FOCUS requires "
    "instead of null)"
)


def _text(help_text: str = "", nullable: bool = False) -> serializers.CharField:
    return serializers.CharField(allow_null=nullable, help_text=help_text or None)


def _decimal(help_text: str, nullable: bool = False) -> serializers.FloatField:
    return serializers.FloatField(allow_null=nullable, help_text=help_text)


def _instant(help_text: str) -> serializers.DateTimeField:
    return serializers.DateTimeField(help_text=f"{help_text}; ISO 8601 in UTC (YYYY-MM-DDTHH:mm:ssZ)")


def _focus_columns() -> dict:
    """FOCUS 1.2 columns (tests/api/focus_1_2_columns.csv lists the specification's), alphabetically: every
    Mandatory one and the Conditional ones that apply to SageMaker hosting, null where the specification allows
    null and Wattson does not know the value (no commitment discount, capacity reservation or invoice yet)."""
    unknown = "null: not known before the customer's cost export is read"
    return {
        "AvailabilityZone": _text("null: an endpoint spans the region's zones", nullable=True),
        "BilledCost": _decimal(
            "USD; the cost export's net amortized cost where the account has one (x_CostBasis billed), else the list "
            "cost (x_CostBasis list)"
        ),
        "BillingAccountId": _text("The AWS account id"),
        "BillingAccountName": _text(nullable=True),
        "BillingCurrency": _text("ISO 4217: USD"),
        "BillingPeriodEnd": _instant("Exclusive end of the calendar month of the charge"),
        "BillingPeriodStart": _instant("Start of the calendar month of the charge"),
        "CapacityReservationId": _text(unknown, nullable=True),
        "CapacityReservationStatus": _text(unknown, nullable=True),
        "ChargeCategory": _text("Usage"),
        "ChargeClass": _text("null: not a correction", nullable=True),
        "ChargeDescription": _text(nullable=True),
        "ChargeFrequency": _text("Usage-Based"),
        "ChargePeriodEnd": _instant("Exclusive end of the UTC day"),
        "ChargePeriodStart": _instant("Start of the UTC day"),
        "CommitmentDiscountCategory": _text(unknown, nullable=True),
        "CommitmentDiscountId": _text(unknown, nullable=True),
        "CommitmentDiscountName": _text(unknown, nullable=True),
        "CommitmentDiscountQuantity": _decimal(unknown, nullable=True),
        "CommitmentDiscountStatus": _text(unknown, nullable=True),
        "CommitmentDiscountType": _text(unknown, nullable=True),
        "CommitmentDiscountUnit": _text(unknown, nullable=True),
        "ConsumedQuantity": _decimal("Instance-hours; GB-seconds of compute for serverless rows"),
        "ConsumedUnit": _text("Hours; GB-Seconds for serverless rows"),
        "ContractedCost": _decimal("USD; no negotiated price is known: the list cost (see x_CostBasis)"),
        "EffectiveCost": _decimal(
            "USD; the cost export's net amortized cost (discounts and Savings Plans applied) where the account has "
            "one (x_CostBasis billed), else the list cost (x_CostBasis list)"
        ),
        "InvoiceId": _text(unknown, nullable=True),
        "InvoiceIssuerName": _text("AWS"),
        "ListCost": _decimal("USD: the on-demand list price x instance-hours (0 where unpriced, see x_CostBasis)"),
        "ListUnitPrice": _decimal(
            "USD per instance-hour; null where no list price is known and for serverless rows (their compute and "
            "request charges share the row)",
            nullable=True,
        ),
        "PricingCategory": _text("Standard: on-demand"),
        "PricingQuantity": _decimal("Instance-hours; GB-seconds of compute for serverless rows", nullable=True),
        "PricingUnit": _text("Hours; GB-Seconds for serverless rows", nullable=True),
        "ProviderName": _text("AWS"),
        "PublisherName": _text("AWS"),
        "RegionId": _text("AWS region code", nullable=True),
        "RegionName": _text("null: AWS's display name is not stored", nullable=True),
        "ResourceId": _text("The endpoint's ARN (its name where the ARN is unknown)", nullable=True),
        "ResourceName": _text(nullable=True),
        "ResourceType": _text(nullable=True),
        "ServiceCategory": _text("AI and Machine Learning"),
        "ServiceName": _text("Amazon SageMaker"),
        "ServiceSubcategory": _text("Machine Learning"),
        "SkuId": _text(
            "The AWS Price List product SKU of the list price (hosting on the row's instance type and region); null "
            "where the shipped table priced the row or nothing did, and for serverless rows (two SKUs: compute and "
            "requests)",
            nullable=True,
        ),
        "SubAccountId": _text("The AWS account id", nullable=True),
        "SubAccountName": _text(nullable=True),
        "Tags": serializers.DictField(
            child=serializers.CharField(), allow_null=True, help_text="The endpoint's tags (JSON text in CSV)"
        ),
    }


def _focus_row_fields() -> dict:
    """FOCUS columns, then the footprint's measures under their ``x_`` names, the instance type, the cost basis and
    the estimate's methodology and version."""
    columns = _focus_columns()
    extensions = [column for column in FOCUS_MEASURES.values() if column not in columns]
    return {
        **columns,
        **{column: serializers.FloatField(allow_null=column in NULLABLE_FOCUS) for column in extensions},
        "x_InstanceType": _text("The ml.* instance type; 'serverless' for serverless inference"),
        "x_CostBasis": serializers.ChoiceField(["billed", "list", "unpriced"], help_text=COST_BASIS_HELP),
        "x_PriceSource": _text(
            "What priced the row: 'aws-price-list' (collected from the AWS Price List) or 'shipped table' (the "
            "offline fallback); null where unpriced",
            nullable=True,
        ),
        "x_EstimateMethodology": _text("The estimator methodology of the energy and CO2e columns"),
        "x_EstimateVersion": _text("Its version"),
        "x_WorkloadKind": serializers.ChoiceField(
            ["inference", "training", "processing", "transform", "notebook", "studio-app"],
            help_text="What the row is: an endpoint's hosting (inference) or a job's, notebook instance's or Studio "
            "app's instance-hours",
        ),
    }


FocusRowSerializer = type(
    "FocusRowSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "One endpoint's or workload's UTC day on one instance type in FOCUS 1.2 columns, and x_ columns "
        "for energy and emissions.",
        **_focus_row_fields(),
    },
)
FOCUS_FIELDS = list(FocusRowSerializer._declared_fields)


class FocusSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    columns = serializers.ListField(child=serializers.CharField())
    results = FocusRowSerializer(many=True)


class RecommendationPatchSerializer(serializers.Serializer):
    """The fields a PATCH may change: the statuses a person sets (Wattson itself sets resolved and withdrawn).
    Other fields are read-only and ignored."""

    status = serializers.ChoiceField(["open", "dismissed", "snoozed"], required=False)
    dismissed_reason = serializers.CharField(
        required=False, allow_blank=True, help_text="Required, not blank, to dismiss"
    )
    snoozed_until = serializers.DateField(
        required=False, allow_null=True, help_text="Required to snooze: a day after today"
    )


ComponentEmissionRowSerializer = type(
    "ComponentEmissionRowSerializer",
    (serializers.Serializer,),
    {
        "period_start": serializers.CharField(),
        "group": serializers.CharField(
            help_text="The component's name, or '<endpoint>/<variant> (unreserved capacity)': capacity no "
            "component reserved"
        ),
        "component": serializers.CharField(allow_null=True, help_text="null on an unreserved-capacity row"),
        "endpoint_id": serializers.IntegerField(),
        "endpoint": serializers.CharField(),
        "account_id": serializers.CharField(help_text="The AWS account id"),
        "variant_name": serializers.CharField(),
        **measure_fields(FOOTPRINT),
        "util_pct": serializers.FloatField(
            allow_null=True, help_text="Utilization of what the component reserved (GPU, else CPU), 0-100 %"
        ),
        "gco2e_per_1k_invocations": serializers.FloatField(
            allow_null=True, help_text="(co2e_kg + embodied_co2e_kg) in g per 1,000 inferences; null without any"
        ),
        "cost_usd": serializers.FloatField(
            allow_null=True, help_text="List price x the row's instance-hours (its reserved share of the variant's)"
        ),
        "priced_instance_hours": serializers.FloatField(),
        "priced_share": serializers.FloatField(allow_null=True),
    },
)


class ComponentEmissionsSerializer(serializers.Serializer):
    grain = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    results = ComponentEmissionRowSerializer(many=True)
