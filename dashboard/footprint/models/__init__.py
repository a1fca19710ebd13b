from dashboard.footprint.models.components import ComponentHourEstimate
from dashboard.footprint.models.estimates import EstimateFailure, VariantHourEstimate
from dashboard.footprint.models.rollups import EstimateSourceDay, VariantDay, VariantMonth
from dashboard.footprint.models.workloads import WorkloadEstimateFailure, WorkloadHourEstimate

__all__ = [
    "ComponentHourEstimate",
    "EstimateFailure",
    "EstimateSourceDay",
    "VariantDay",
    "VariantHourEstimate",
    "VariantMonth",
    "WorkloadEstimateFailure",
    "WorkloadHourEstimate",
]
