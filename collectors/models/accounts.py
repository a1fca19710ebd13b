import re
import secrets

from django.core.validators import RegexValidator
from django.db import models

from collectors.regions import COMMERCIAL_REGIONS

# [0-9], not \d: \d also matches other scripts' digits ("١٢٣…"), which are no AWS account id.
ACCOUNT_ID = RegexValidator(r"^[0-9]{12}\Z", "An AWS account id is 12 digits.")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
ROLE_ARN = RegexValidator(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}\Z", "Not an IAM role ARN.")


def new_external_id() -> str:
    """A per-account secret for the customer's trust policy (sts:ExternalId, 2-1224 characters)."""
    return f"wattson-{secrets.token_hex(16)}"


class AwsAccount(models.Model):
    """A customer AWS account a team monitors. Access is by AssumeRole with an external id; no secret is stored."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="aws_accounts")
    account_id = models.CharField(max_length=12, validators=[ACCOUNT_ID])
    name = models.CharField(max_length=100)
    regions = models.JSONField(default=list, help_text='Region codes to collect, e.g. ["us-east-1"]')
    enabled = models.BooleanField(default=True)
    role_arn = models.CharField(
        max_length=2048,
        blank=True,
        validators=[ROLE_ARN],
        help_text="Empty: the workers' own AWS identity - operator-only, and only with "
        "COLLECT_ALLOW_ROLELESS_ACCOUNTS on.",
    )
    external_id = models.CharField(max_length=64, default=new_external_id, unique=True, editable=False)
    cost_export_bucket = models.CharField(
        max_length=63,
        blank=True,
        help_text="S3 bucket the account's Data Exports are delivered to (CUR 2.0 or FOCUS 1.x, and "
        "CARBON_EMISSIONS); empty: no export, list cost only.",
    )
    cost_export_prefix = models.CharField(max_length=512, blank=True, help_text="The export's S3 path prefix")
    cost_export_name = models.CharField(max_length=128, blank=True, help_text="The export's name")
    carbon_export_name = models.CharField(
        max_length=128,
        blank=True,
        help_text="Name of a CARBON_EMISSIONS Data Export delivered to the same bucket and prefix; empty: AWS's "
        "carbon estimates from the Sustainability API only (no history of model versions).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "account_id"], name="one_account_per_team")]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"

    @property
    def has_cost_export(self) -> bool:
        return bool(self.cost_export_bucket and self.cost_export_name)

    @property
    def has_carbon_export(self) -> bool:
        return bool(self.cost_export_bucket and self.carbon_export_name)

    def clean(self) -> None:
        from django.conf import settings
        from django.core.exceptions import ValidationError

        unknown = sorted(set(self.regions or []) - set(COMMERCIAL_REGIONS))
        if unknown:
            raise ValidationError({"regions": f"Unknown AWS region(s): {', '.join(unknown)}"})
        if not self.role_arn and not settings.COLLECT_ALLOW_ROLELESS_ACCOUNTS:
            raise ValidationError({"role_arn": "An account needs a role to assume (role-less accounts are off)."})
        if self.role_arn and role_account(self.role_arn) not in (None, self.account_id):
            raise ValidationError({"role_arn": "The role must belong to this account."})
        if self.cost_export_bucket and not (self.cost_export_name or self.carbon_export_name):
            raise ValidationError(
                {"cost_export_name": "A cost export needs both its bucket and its name (or neither: list cost only)."}
            )
        if self.cost_export_name and not self.cost_export_bucket:
            raise ValidationError(
                {"cost_export_bucket": "A cost export needs both its bucket and its name (or neither: list cost only)."}
            )
        if self.carbon_export_name and not self.cost_export_bucket:
            raise ValidationError(
                {"cost_export_bucket": "A CARBON_EMISSIONS export needs the bucket it is delivered to."}
            )
        if self.cost_export_bucket and not BUCKET.match(self.cost_export_bucket):
            raise ValidationError({"cost_export_bucket": "Not an S3 bucket name."})


def role_account(role_arn: str) -> str | None:
    """The account id in a role ARN; None when it is not an ARN (its own validator says so)."""
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" else None
