"""Helpers of service_kit.mongo that need no server."""

from __future__ import annotations

from service_kit.mongo import in_chunks


def test_in_chunks_gives_sorted_lists_without_repeats_when_the_values_exceed_the_size() -> None:
    assert in_chunks([5, 1, 3, 1, 4, 2, 5], size=2) == [[1, 2], [3, 4], [5]]


def test_in_chunks_gives_no_lists_when_there_are_no_values() -> None:
    assert in_chunks([]) == []


def test_in_chunks_gives_one_list_when_the_values_fit() -> None:
    assert in_chunks(["b", "a"], size=2) == [["a", "b"]]
