"""The team's definition of idle, built in one place for every surface that reads it.

``dashboard.footprint.idle`` says what idle means; the team's ``TeamPolicy`` holds the CPU and GPU limits that
corroborate it. Alerts and the weekly digest (after ``NotificationSettings.idle_hours``) and recommendations
(after ``TeamPolicy.idle_days`` x 24) all call ``idle_policy``: they differ only in the duration.

The limits live on ``TeamPolicy`` rather than on the notification settings because ``recommend`` may not import
``notify`` (the layers run ``notify`` → ``recommend`` → ``footprint``), and rather than on a model of
``footprint`` because they are a team's choice, like every other threshold of ``TeamPolicy``, not a fact about
what the hours cost.
"""

from __future__ import annotations

from dashboard.footprint.idle import IdlePolicy
from dashboard.recommend.models import TeamPolicy


def policy_of(team) -> TeamPolicy:
    """The team's saved policy, or the defaults when it has none yet (read only: nothing is created)."""
    return TeamPolicy.objects.filter(team=team).first() or TeamPolicy(team=team)


def idle_policy(policy: TeamPolicy, min_hours: int) -> IdlePolicy:
    """The team's definition of idle: no inference for ``min_hours`` while instances ran; corroborated when p95
    CPU and GPU stay under the team's limits (``idle_max_cpu_pct``, ``idle_max_gpu_pct``)."""
    return IdlePolicy(min_hours, policy.idle_max_cpu_pct, policy.idle_max_gpu_pct)
