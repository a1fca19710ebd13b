from dashboard.teams.models.security import LoginFailure
from dashboard.teams.models.teams import Membership, Team
from dashboard.teams.models.tokens import ApiToken

__all__ = ["ApiToken", "LoginFailure", "Membership", "Team"]
