"""Failed logins, kept for the login throttle (``dashboard/teams/login_throttle.py``) for one cool-off period."""

from django.db import models


class LoginFailure(models.Model):
    """One failed login. The username is stored hashed: people type their password into it by mistake."""

    username_key = models.CharField(max_length=64, help_text="SHA-256 of the lower-cased username as typed")
    address = models.GenericIPAddressField(null=True, blank=True, help_text="The client's address")
    at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "dashboard_loginfailure"  # the table it had in the dashboard app (docs/adr/0008)
        indexes = [models.Index(fields=["username_key", "at"]), models.Index(fields=["address", "at"])]

    def __str__(self) -> str:
        return f"failed login from {self.address} at {self.at:%Y-%m-%d %H:%M:%S}"
