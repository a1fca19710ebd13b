from django import forms

from collectors.models import AwsAccount
from collectors.regions import COMMERCIAL_REGIONS


class AwsAccountForm(forms.ModelForm):
    regions = forms.MultipleChoiceField(
        choices=[(r, r) for r in COMMERCIAL_REGIONS], widget=forms.SelectMultiple(attrs={"size": 8})
    )

    class Meta:
        model = AwsAccount
        fields = ["name", "account_id", "role_arn", "regions", "enabled"]

    def __init__(self, *args, team=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.team = team
        # Team owners always give a role: running on the workers' own identity is an operator's choice (admin).
        role_arn = self.fields["role_arn"]
        role_arn.required = True
        role_arn.help_text = (
            "The role Wattson assumes in this account, e.g. arn:aws:iam::123456789012:role/WattsonReadOnly"
        )

    def clean_account_id(self):
        account_id = self.cleaned_data["account_id"]
        duplicate = AwsAccount.objects.filter(team=self.instance.team, account_id=account_id)
        if duplicate.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("This team already monitors that account.")
        return account_id


class CostExportForm(forms.ModelForm):
    """Where the account's Data Exports are delivered: a CUR 2.0 or FOCUS 1.x cost export and, optionally, a
    CARBON_EMISSIONS export to the same bucket and prefix; all empty: list cost only."""

    class Meta:
        model = AwsAccount
        fields = ["cost_export_bucket", "cost_export_prefix", "cost_export_name", "carbon_export_name"]
        labels = {
            "cost_export_bucket": "Export bucket",
            "cost_export_prefix": "S3 path prefix",
            "cost_export_name": "Export name",
            "carbon_export_name": "CARBON_EMISSIONS export name",
        }

    def clean_cost_export_prefix(self):
        return self.cleaned_data["cost_export_prefix"].strip().strip("/")
