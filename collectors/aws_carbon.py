"""Stub: AWS's own monthly carbon estimates (issue 18), replaced by the implementation."""

from dataclasses import dataclass
from datetime import datetime

from collectors import aws


@dataclass
class AwsCarbonResult:
    rows: int = 0


def collect_aws_carbon(account, now: datetime, calls: aws.ApiCalls) -> AwsCarbonResult:
    raise NotImplementedError("the aws_carbon collector is being built")
