"""Docs point into the code by path (and symbol): every such pointer must name a file that exists, and the
symbol after ``::`` must be defined in it (docs/questions.md, docs/adr/, CONTRIBUTING.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.infra_files import ROOT

DOCS = sorted(
    [
        ROOT / "docs" / "questions.md",
        *(ROOT / "docs" / "adr").glob("*.md"),
        *([ROOT / "CONTRIBUTING.md"] if (ROOT / "CONTRIBUTING.md").exists() else []),
    ]
)
# `path/to/file.py` or `path/to/file.py::Name.attr` inside backticks; directories end with "/".
POINTER = re.compile(r"`((?:[a-z_]+/)+[\w.-]+\.(?:py|md|yml|json|conf|toml|sh))(?:::([\w.]+))?`")


def pointers() -> list[tuple[str, str, str | None]]:
    found = []
    for doc in DOCS:
        for path, symbol in POINTER.findall(doc.read_text(encoding="utf-8")):
            found.append((doc.name, path, symbol or None))
    return found


def defines(source: str, dotted: str) -> bool:
    """Whether ``source`` defines every part of ``Name.attr`` (a class, function, assignment or method)."""
    return all(
        re.search(
            rf"^\s*(?:async\s+def|def|class)\s+{re.escape(part)}\b|^\s*{re.escape(part)}\s*[:=]", source, re.MULTILINE
        )
        for part in dotted.split(".")
    )


@pytest.mark.parametrize(("doc", "path", "symbol"), pointers())
def test_doc_pointer_names_existing_code_when_a_doc_points_into_the_repository(
    doc: str, path: str, symbol: str | None
) -> None:
    target = ROOT / path
    assert target.is_file(), f"{doc} points at {path}, which does not exist"
    if symbol is not None:
        assert defines(target.read_text(encoding="utf-8"), symbol), f"{doc}: {path} defines no {symbol}"


def test_doc_pointers_are_found_when_the_docs_are_read() -> None:
    assert len(pointers()) > 20
    assert all(Path(ROOT / p).suffix for _, p, _ in pointers())
