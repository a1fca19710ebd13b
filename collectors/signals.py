"""What the collectors announce, for the apps downstream that act on it (estimation) without the collectors
knowing them: dependencies point one way (docs/adr, the import contracts in pyproject.toml)."""

from django.dispatch import Signal

#: Sent after a utilization collection committed new or re-collected variant-hours.
#: Arguments: ``account`` (AwsAccount), ``region`` (str), ``hours`` (int, rows written).
hours_collected = Signal()
