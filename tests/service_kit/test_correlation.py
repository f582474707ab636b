"""Correlation ids: which incoming ids are kept, and how an id is bound to the current task."""

from __future__ import annotations

import contextvars
import re

import pytest

from service_kit.correlation import (
    accept_correlation_id,
    correlation_id_var,
    current_correlation_id,
    new_correlation_id,
)

NEW_ID = re.compile(r"^[0-9a-f]{32}\Z")


@pytest.mark.parametrize("candidate", ["abc", "9b1d5c0e4f2a4e6b8c7d3a1f0e9b2c4d", "req:1.2_x-y", "a" * 64, "0"])
def test_accept_correlation_id_keeps_candidate_when_safe(candidate: str) -> None:
    assert accept_correlation_id(candidate) == candidate


@pytest.mark.parametrize(
    "candidate",
    [
        None,
        "",
        "a" * 65,
        "with space",
        "new\nline",
        "tab\tbed",
        "кириллица",
        "semi;colon",
        'quote"d',
        "a/b",
        "\nleading",
    ],
)
def test_accept_correlation_id_makes_new_id_when_candidate_unsafe(candidate: str | None) -> None:
    accepted = accept_correlation_id(candidate)

    assert accepted != candidate
    assert NEW_ID.match(accepted)


def test_new_correlation_id_is_fresh_hex_when_called() -> None:
    ids = {new_correlation_id() for _ in range(100)}

    assert len(ids) == 100
    assert all(NEW_ID.match(value) for value in ids)


def test_current_correlation_id_binds_new_id_when_nothing_bound() -> None:
    def first_two_calls() -> tuple[str, str, str | None]:
        first = current_correlation_id()
        return first, current_correlation_id(), correlation_id_var.get()

    first, second, bound = contextvars.copy_context().run(first_two_calls)

    assert NEW_ID.match(first)
    assert first == second == bound


def test_current_correlation_id_returns_bound_id_when_already_bound() -> None:
    def with_bound_id() -> str:
        correlation_id_var.set("from-update-42")
        return current_correlation_id()

    assert contextvars.copy_context().run(with_bound_id) == "from-update-42"
