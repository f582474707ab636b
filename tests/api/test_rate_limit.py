"""The per-person gate of long calls: one at a time, a number per window, each person on their own."""

from __future__ import annotations

from api.core.rate_limit import WINDOW_SECONDS, PersonGate, Refusal


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_person_gate_refuses_a_second_call_of_the_person_when_the_first_is_under_way() -> None:
    gate = PersonGate(10, Clock())

    assert gate.claim(1) is None
    assert gate.claim(1) is Refusal.BUSY
    assert gate.claim(2) is None  # another person is not held up
    gate.release(1)
    assert gate.claim(1) is None


def test_person_gate_refuses_the_call_when_the_window_holds_the_limit_and_allows_it_once_the_window_passed() -> None:
    clock = Clock()
    gate = PersonGate(2, clock)
    for _ in range(2):
        assert gate.claim(1) is None
        gate.release(1)

    assert gate.claim(1) is Refusal.RATE
    clock.now += WINDOW_SECONDS
    assert gate.claim(1) is None


def test_person_gate_spends_no_call_of_the_window_when_it_refuses_a_busy_person() -> None:
    gate = PersonGate(2, Clock())
    assert gate.claim(1) is None

    refusals = [gate.claim(1) for _ in range(5)]
    gate.release(1)

    assert refusals == [Refusal.BUSY] * 5 and gate.claim(1) is None
