"""Alerts on notebook instances and Studio apps left running (issue 19). STUB: pre-wired by the lead; the advice
work package fills it in with the same open / remind / resolve lifecycle as ``alerts.evaluate``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class NotebookOutcome:
    opened: int = 0
    reminded: int = 0
    resolved: int = 0


def evaluate(team, now: datetime | None = None) -> tuple[NotebookOutcome, list[tuple[int, str]]]:
    """(outcome, [(alert id, event)]) as ``alerts.evaluate`` returns them."""
    return NotebookOutcome(), []
