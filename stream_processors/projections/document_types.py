"""The ``document_types`` projection: a person's types and how many live documents each holds."""

from __future__ import annotations

from datetime import datetime

from contracts.read_models import DocumentTypeView
from stream_processors.projections.state import BatchState, type_id


def ensure_type(state: BatchState, owner_id: int, slug: str, title: str, at: datetime) -> None:
    """Create the type on first use; its title stays the one it was first given."""
    if type_id(owner_id, slug) not in state.types:
        state.put_type(
            DocumentTypeView(
                _id=type_id(owner_id, slug),
                owner_id=owner_id,
                slug=slug,
                title=title,
                live_count=0,
                created_at=at,
                updated_at=at,
            )
        )


def adjust_live_count(state: BatchState, owner_id: int, slug: str, delta: int, at: datetime) -> None:
    current = state.types[type_id(owner_id, slug)]
    state.put_type(current.model_copy(update={"live_count": max(0, current.live_count + delta), "updated_at": at}))


def next_type_seq(state: BatchState, owner_id: int, slug: str, at: datetime) -> int:
    """The number of a document added to the type now (its position in the type's creation order)."""
    current = state.types[type_id(owner_id, slug)]
    state.put_type(current.model_copy(update={"added_count": current.added_count + 1, "updated_at": at}))
    return current.added_count + 1
