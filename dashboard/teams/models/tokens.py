"""Per-user API tokens for FinOps tools: scoped to one team, read-only unless made writable, stored hashed."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

PREFIX = "wtsn"


def digest(token: str) -> str:
    """What is stored: SHA-256 of the whole token (tokens are 256-bit random, so no salt or slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self) -> "ApiTokenQuerySet":
        """Tokens that may call the API: not revoked, of an active user who is still a member of the token's team.
        Checked on every request, so a removed member's token stops working even if revocation never ran."""
        from dashboard.teams.models.teams import Membership

        member = Membership.objects.filter(team=models.OuterRef("team"), user=models.OuterRef("user"))
        return self.filter(revoked_at__isnull=True, user__is_active=True).filter(models.Exists(member))

    def revoke(self) -> int:
        """Revokes the active ones among these tokens; returns how many."""
        return self.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


class ApiToken(models.Model):
    class Access(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write (dismiss or snooze recommendations)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The token's first characters, to recognise it")
    digest = models.CharField(max_length=64, unique=True)
    access = models.CharField(max_length=8, choices=Access.choices, default=Access.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        db_table = "dashboard_apitoken"  # the table it had in the dashboard app (docs/adr/0008)
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user, team, name: str, access: str = Access.READ) -> tuple["ApiToken", str]:
        """A new token and its plaintext, which is shown once and never stored."""
        plaintext = f"{PREFIX}_{secrets.token_urlsafe(32)}"
        token = cls.objects.create(
            user=user, team=team, name=name, prefix=plaintext[:12], digest=digest(plaintext), access=access
        )
        return token, plaintext

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
