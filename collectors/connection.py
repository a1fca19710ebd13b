"""'Test connection': can Wattson assume the account's role, is it that account, and can it read SageMaker in
each of its regions?"""

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from collectors import aws
from collectors.runner import describe_error


@dataclass
class Check:
    region: str
    ok: bool
    message: str


def check_account(account) -> list[Check]:
    aws.forget_sessions()  # a changed trust policy must be tried afresh
    checks = []
    for region in account.regions:
        try:
            listed = aws.client(account, "sagemaker", region).list_endpoints(MaxResults=100)
            count = len(listed["Endpoints"]) if not listed.get("NextToken") else "100+"
            checks.append(Check(region, True, f"can read SageMaker: {count} endpoint(s)"))
        except (ClientError, BotoCoreError, aws.IdentityError) as exc:
            checks.append(Check(region, False, describe_error(exc)[0]))
    return checks
