"""The one place that appends: every event counts against the person's hourly budget; past it, a clear answer
and nothing appended (the real dispatcher and Redis, the fake event log)."""

from __future__ import annotations

import uuid

import pytest

from contracts.events import DocumentDeleted

from bot.services.limits import BudgetSpent, budget_verdict
from bot.settings import BotConfig
from bot.ui.callbacks import DocAction, DocCb
from tests.bot.conftest import OWNER, BotUnderTest
from tests.bot.fakes import StoredDoc
from tests.bot.harness import Person

BUDGET = 2


def _doc(app: BotUnderTest, name: str, owner: int = OWNER) -> StoredDoc:
    return app.api.add(StoredDoc(owner, str(uuid.uuid4()), "receipts", "Receipts", name, uuid.uuid4().hex * 2, 1,
                                 "application/pdf", None, None))


def _delete(doc: StoredDoc) -> DocCb:
    return DocCb(action=DocAction.confirm_delete, doc=uuid.UUID(doc.document_id).hex)


@pytest.mark.parametrize("config", [BotConfig(event_budget_per_hour=BUDGET)])
async def test_record_refuses_and_appends_nothing_when_the_hourly_budget_is_spent(
    app: BotUnderTest, ann: Person
) -> None:
    docs = [_doc(app, f"r{index}") for index in range(BUDGET + 2)]
    for doc in docs:
        await ann.presses(_delete(doc))

    assert [type(p) for p in app.publisher.payloads()] == [DocumentDeleted] * BUDGET
    refusals = [text for text in ann.saw() if text.startswith("You have made more changes in the last hour")]
    assert len(refusals) == 2 and refusals[0].endswith("min.") and app.api.docs[docs[-1].document_id].status == "live"

    bob = app.person(user_id=OWNER + 1)  # the budget is per person
    await bob.presses(_delete(_doc(app, "bob's", owner=bob.user.id)))
    assert len(app.publisher.events) == BUDGET + 1


@pytest.mark.parametrize(("count", "now", "expected"), [
    (200, 7200.0, None),
    (201, 7200.0, BudgetSpent(minutes_left=60)),
    (201, 7200.0 + 3599.5, BudgetSpent(minutes_left=1)),
    (500, 7200.0 + 1830, BudgetSpent(minutes_left=30)),
])
def test_budget_verdict_counts_minutes_to_the_window_end_when_the_budget_is_spent(
    count: int, now: float, expected: BudgetSpent | None
) -> None:
    assert budget_verdict(count, 200, now, 3600) == expected
