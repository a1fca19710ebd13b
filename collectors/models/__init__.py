from collectors.models.accounts import AwsAccount
from collectors.models.billing import BilledCostDay, CostExportDelivery
from collectors.models.components import ComponentConfig, ComponentHour, InferenceComponent
from collectors.models.endpoints import Endpoint, VariantConfig
from collectors.models.health import CollectionState, WorkerHeartbeat
from collectors.models.prices import Price
from collectors.models.storage import LogGroupSnapshot, StorageLensDay
from collectors.models.usage import VariantHour

__all__ = [
    "AwsAccount",
    "BilledCostDay",
    "CollectionState",
    "ComponentConfig",
    "ComponentHour",
    "CostExportDelivery",
    "Endpoint",
    "InferenceComponent",
    "LogGroupSnapshot",
    "Price",
    "StorageLensDay",
    "VariantConfig",
    "VariantHour",
    "WorkerHeartbeat",
]
