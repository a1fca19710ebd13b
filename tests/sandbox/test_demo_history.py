"""`make demo` seeds enough history to cover the last complete month (AWS's carbon estimates are per complete month),
and its collectors backfill all of it."""

from datetime import date, timedelta

import pytest

from sandbox.management.commands.demo import demo_history_days


@pytest.mark.parametrize(
    ("today", "first_day_covered"),
    [
        (date(2026, 11, 27), date(2026, 10, 1)),
        (date(2026, 3, 1), date(2026, 2, 1)),  # the first day of a month: the whole previous month
        (date(2027, 1, 15), date(2026, 12, 1)),  # across a year
        (date(2024, 3, 31), date(2024, 2, 1)),  # a leap February
    ],
)
def test_the_history_starts_on_the_first_day_of_the_last_complete_month(today, first_day_covered):
    days = demo_history_days(today)
    assert today - timedelta(days=days - 1) == first_day_covered
