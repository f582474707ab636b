"""One correlation id per user action, carried from update to API to processor."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

CORRELATION_HEADER = "X-Request-ID"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def accept_correlation_id(candidate: str | None) -> str:
    """Keep an incoming id if it is safe to log and forward; otherwise make a new one."""
    if candidate and _SAFE_ID.fullmatch(candidate):
        return candidate
    return new_correlation_id()


def current_correlation_id() -> str:
    """The id bound to this task, creating (and binding) one when nothing is bound yet."""
    value = correlation_id_var.get()
    if value is None:
        value = new_correlation_id()
        correlation_id_var.set(value)
    return value
