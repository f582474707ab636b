"""Chaos tests: real services, a fault injected on purpose, and a row of the fault table per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _pytest.terminal import TerminalReporter

from tests.chaos.report import FaultRow, markdown_table

_rows: list[FaultRow] = []


@pytest.fixture
def fault_report() -> list[FaultRow]:
    """Append the test's ``FaultRow`` here once its checks passed."""
    return _rows


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    if not _rows:
        return
    table = markdown_table(_rows)
    terminalreporter.write_sep("=", "fault table (tests/chaos)")
    terminalreporter.write(table)
    target = os.environ.get("FAULT_REPORT")
    if target:
        Path(target).write_text(table)
