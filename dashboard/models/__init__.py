from dashboard.models.footprint import VariantHourEstimate
from dashboard.models.recommendations import Recommendation, TeamPolicy
from dashboard.models.rollups import VariantDay
from dashboard.models.teams import Membership, Team

__all__ = ["Membership", "Recommendation", "Team", "TeamPolicy", "VariantDay", "VariantHourEstimate"]
