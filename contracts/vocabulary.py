"""Words every service uses for the same things: a document's status and the pattern of a type slug.

Pure: no I/O and no imports beyond the standard library, so that the bot may use it too. The values are what
MongoDB stores and the API answers: a ``StrEnum`` member is written and compared as its plain string.
"""

from __future__ import annotations

from enum import StrEnum


class DocumentStatus(StrEnum):
    live = "live"
    deleted = "deleted"
    duplicate = "duplicate"


SLUG_PATTERN = r"^[\w-]+$"
