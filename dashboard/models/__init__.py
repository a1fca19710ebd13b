from dashboard.models.footprint import VariantHourEstimate
from dashboard.models.recommendations import Recommendation, TeamPolicy
from dashboard.models.rollups import VariantDay
from dashboard.models.teams import Membership, Team
from dashboard.models.tokens import ApiToken

__all__ = ["ApiToken", "Membership", "Recommendation", "Team", "TeamPolicy", "VariantDay", "VariantHourEstimate"]
