"""The fault table: every chaos test adds one row; the session prints them (and writes them with
``FAULT_REPORT=path``), which is the table in docs/reliability.md."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

HEADERS = ("fault", "what was checked", "events in", "events applied", "lost", "duplicated")


@dataclass(frozen=True)
class FaultRow:
    fault: str
    checked: str
    events_in: int
    events_applied: int
    lost: int
    duplicated: int

    def cells(self) -> tuple[str, ...]:
        return (
            self.fault,
            self.checked,
            str(self.events_in),
            str(self.events_applied),
            str(self.lost),
            str(self.duplicated),
        )


def fault_row(
    fault: str, checked: str, confirmed: Collection[str], applied: Iterable[str], duplicated: int = 0
) -> FaultRow:
    """A row from the ids of the events the producer saw confirmed and those the read models applied.

    ``events applied`` counts the confirmed events found in the processor's ledger, ``lost`` those not
    found; ``duplicated`` is what the caller saw take effect twice (one user action, two documents).
    """
    found = set(confirmed) & set(applied)
    return FaultRow(fault, checked, len(confirmed), len(found), len(confirmed) - len(found), duplicated)


def markdown_table(rows: Iterable[FaultRow]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines) + "\n"
