from dashboard.footprint.models.estimates import EstimateFailure, VariantHourEstimate
from dashboard.footprint.models.rollups import EstimateSourceDay, VariantDay, VariantMonth

__all__ = ["EstimateFailure", "EstimateSourceDay", "VariantDay", "VariantHourEstimate", "VariantMonth"]
