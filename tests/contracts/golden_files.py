"""Where the golden envelopes live: one hand-written JSON file per released (event_type, schema_version)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).parent / "golden"
_GOLDEN_NAME = re.compile(r"^(?P<event_type>[a-z_.]+)\.v(?P<version>\d+)\.json$")


def golden_path(event_type: str, version: int) -> Path:
    return GOLDEN_DIR / f"{event_type}.v{version}.json"


def golden_bytes(event_type: str, version: int = 1) -> bytes:
    return golden_path(event_type, version).read_bytes()


def golden_dict(event_type: str, version: int = 1) -> dict[str, Any]:
    """A fresh (deep) copy of a golden envelope, safe to mutate."""
    loaded: dict[str, Any] = json.loads(golden_bytes(event_type, version))
    return copy.deepcopy(loaded)


def stored_golden_files() -> list[tuple[str, int]]:
    """(event_type, version) of every file in the golden folder; a badly named file fails loudly."""
    found: list[tuple[str, int]] = []
    for path in sorted(GOLDEN_DIR.iterdir()):
        match = _GOLDEN_NAME.match(path.name)
        if match is None:
            raise AssertionError(f"unexpected file in {GOLDEN_DIR}: {path.name}")
        found.append((match["event_type"], int(match["version"])))
    return found


# The data key the v2 golden files were sealed with (owner 412845671, key id below): tests open them with it.
GOLDEN_OWNER_ID = 412845671
GOLDEN_DATA_KEY = bytes(range(32))
GOLDEN_KEY_ID = "5a3c9e7b1d2f4a60"
