from collectors.models.accounts import AwsAccount
from collectors.models.billing import BilledCostDay, CostExportDelivery
from collectors.models.endpoints import Endpoint, VariantConfig
from collectors.models.health import CollectionState, WorkerHeartbeat
from collectors.models.prices import Price
from collectors.models.storage import LogGroupSnapshot, StorageLensDay
from collectors.models.usage import VariantHour

__all__ = [
    "AwsAccount",
    "BilledCostDay",
    "CollectionState",
    "CostExportDelivery",
    "Endpoint",
    "LogGroupSnapshot",
    "Price",
    "StorageLensDay",
    "VariantConfig",
    "VariantHour",
    "WorkerHeartbeat",
]
