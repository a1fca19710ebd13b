"""Stub: Compute Optimizer's idle findings on SageMaker endpoints (issue 18), replaced by the implementation."""

from dataclasses import dataclass
from datetime import datetime

from collectors import aws


@dataclass
class IdleFindingsResult:
    findings: int = 0


def collect_idle_findings(account, region: str, now: datetime, calls: aws.ApiCalls) -> IdleFindingsResult:
    raise NotImplementedError("the compute_optimizer collector is being built")
