from dashboard.footprint.models.estimates import VariantHourEstimate
from dashboard.footprint.models.rollups import EstimateSourceDay, VariantDay, VariantMonth

__all__ = ["EstimateSourceDay", "VariantDay", "VariantHourEstimate", "VariantMonth"]
