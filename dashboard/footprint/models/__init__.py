from dashboard.footprint.models.estimates import VariantHourEstimate
from dashboard.footprint.models.rollups import VariantDay, VariantMonth

__all__ = ["VariantDay", "VariantHourEstimate", "VariantMonth"]
