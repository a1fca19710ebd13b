"""Energy and CO2e of workload-hours (jobs, notebook instances, Studio apps; issue 19), by the same estimator as
endpoints. STUB: pre-wired by the lead; the footprint work package fills it in."""

from __future__ import annotations


def estimate_pending(batch_size: int = 5000) -> int:
    """Estimate new, re-collected and outdated workload-hours; returns how many were estimated."""
    return 0
