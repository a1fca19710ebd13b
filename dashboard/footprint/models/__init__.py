from dashboard.footprint.models.estimates import VariantHourEstimate
from dashboard.footprint.models.rollups import VariantDay

__all__ = ["VariantDay", "VariantHourEstimate"]
