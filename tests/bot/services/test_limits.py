"""The limits on one person as pure decisions: the flood verdict and the hourly event budget."""

from __future__ import annotations

import pytest

from bot.services.limits import BudgetSpent, FloodVerdict, budget_verdict, flood_verdict


@pytest.mark.parametrize(
    ("count", "verdict"),
    [
        (1, FloodVerdict.allow),
        (5, FloodVerdict.allow),
        (6, FloodVerdict.warn),
        (7, FloodVerdict.drop),
    ],
)
def test_flood_verdict_warns_once_then_drops_when_over_the_limit(count: int, verdict: FloodVerdict) -> None:
    assert flood_verdict(count, 5) is verdict


@pytest.mark.parametrize(
    ("count", "now", "expected"),
    [
        (200, 7200.0, None),
        (201, 7200.0, BudgetSpent(minutes_left=60)),
        (201, 7200.0 + 3599.5, BudgetSpent(minutes_left=1)),
        (500, 7200.0 + 1830, BudgetSpent(minutes_left=30)),
    ],
)
def test_budget_verdict_counts_minutes_to_the_window_end_when_the_budget_is_spent(
    count: int, now: float, expected: BudgetSpent | None
) -> None:
    assert budget_verdict(count, 200, now, 3600) == expected
