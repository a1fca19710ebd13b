from collectors.models.accounts import AwsAccount
from collectors.models.aws_estimates import AwsCarbonEstimate, CarbonExportManifest, IdleFinding
from collectors.models.billing import BilledCostDay, CostExportDelivery
from collectors.models.components import ComponentConfig, ComponentHour, InferenceComponent
from collectors.models.endpoints import Endpoint, VariantConfig
from collectors.models.health import CollectionState, WorkerHeartbeat
from collectors.models.prices import Price
from collectors.models.storage import LogGroupSnapshot, StorageLensDay
from collectors.models.usage import VariantHour
from collectors.models.workloads import (
    JOB_KINDS,
    TuningJob,
    Workload,
    WorkloadHour,
    WorkloadKind,
    WorkloadStatusSpan,
)

__all__ = [
    "AwsAccount",
    "AwsCarbonEstimate",
    "BilledCostDay",
    "CarbonExportManifest",
    "CollectionState",
    "ComponentConfig",
    "ComponentHour",
    "CostExportDelivery",
    "Endpoint",
    "IdleFinding",
    "JOB_KINDS",
    "InferenceComponent",
    "LogGroupSnapshot",
    "Price",
    "StorageLensDay",
    "TuningJob",
    "VariantConfig",
    "VariantHour",
    "WorkerHeartbeat",
    "Workload",
    "WorkloadHour",
    "WorkloadKind",
    "WorkloadStatusSpan",
]
