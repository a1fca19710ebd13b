from collectors.models.accounts import AwsAccount
from collectors.models.endpoints import Endpoint, VariantConfig
from collectors.models.health import CollectionState, WorkerHeartbeat
from collectors.models.storage import LogGroupSnapshot, StorageLensDay
from collectors.models.usage import VariantHour

__all__ = [
    "AwsAccount",
    "CollectionState",
    "Endpoint",
    "LogGroupSnapshot",
    "StorageLensDay",
    "VariantConfig",
    "VariantHour",
    "WorkerHeartbeat",
]
