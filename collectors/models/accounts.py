import secrets

from django.core.validators import RegexValidator
from django.db import models

from collectors.regions import COMMERCIAL_REGIONS

ACCOUNT_ID = RegexValidator(r"^\d{12}$", "An AWS account id is 12 digits.")
ROLE_ARN = RegexValidator(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$", "Not an IAM role ARN.")


def new_external_id() -> str:
    """A per-account secret for the customer's trust policy (sts:ExternalId, 2-1224 characters)."""
    return f"wattson-{secrets.token_hex(16)}"


class AwsAccount(models.Model):
    """A customer AWS account a team monitors. Access is by AssumeRole with an external id; no secret is stored."""

    team = models.ForeignKey("dashboard.Team", on_delete=models.CASCADE, related_name="aws_accounts")
    account_id = models.CharField(max_length=12, validators=[ACCOUNT_ID])
    name = models.CharField(max_length=100)
    regions = models.JSONField(default=list, help_text="Region codes to collect, e.g. [\"us-east-1\"]")
    enabled = models.BooleanField(default=True)
    role_arn = models.CharField(max_length=2048, blank=True, validators=[ROLE_ARN],
                               help_text="Empty: use the worker's default AWS credential chain.")
    external_id = models.CharField(max_length=64, default=new_external_id, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "account_id"], name="one_account_per_team")]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        unknown = sorted(set(self.regions) - set(COMMERCIAL_REGIONS))
        if unknown:
            raise ValidationError({"regions": f"Unknown AWS region(s): {', '.join(unknown)}"})
        if self.role_arn and self.role_arn.split(":")[4] != self.account_id:
            raise ValidationError({"role_arn": "The role must belong to this account."})
