from dashboard.models.footprint import VariantHourEstimate
from dashboard.models.notify import (
    Alert,
    Channel,
    Delivery,
    DigestClaim,
    DigestSubscription,
    NotificationSettings,
)
from dashboard.models.recommendations import Recommendation, TeamPolicy
from dashboard.models.rollups import VariantDay
from dashboard.models.security import LoginFailure
from dashboard.models.teams import Membership, Team
from dashboard.models.tokens import ApiToken

__all__ = [
    "Alert",
    "ApiToken",
    "Channel",
    "Delivery",
    "DigestClaim",
    "DigestSubscription",
    "LoginFailure",
    "Membership",
    "NotificationSettings",
    "Recommendation",
    "Team",
    "TeamPolicy",
    "VariantDay",
    "VariantHourEstimate",
]
