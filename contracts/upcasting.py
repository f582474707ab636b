"""Upcasters lift an old payload, one version at a time, to the version the code reads today."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

JsonObject = dict[str, Any]
Upcaster = Callable[[JsonObject], JsonObject]

# (event_type, from_version) -> function returning the payload at from_version + 1.
# Empty while every type is at v1; the mechanism is exercised by tests with their own registry.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class MissingUpcaster(LookupError):
    """No path from a stored version to the current one."""


def upcast(
    event_type: str,
    version: int,
    payload: JsonObject,
    current_version: int,
    upcasters: Mapping[tuple[str, int], Upcaster] = UPCASTERS,
) -> JsonObject:
    """Apply upcasters from ``version`` until ``current_version`` is reached."""
    while version < current_version:
        step = upcasters.get((event_type, version))
        if step is None:
            raise MissingUpcaster(f"no upcaster for {event_type} v{version}")
        payload = step(payload)
        version += 1
    return payload
