"""``GET /v1/reminders/due``: the valid-until reminders due on a day, for the bot's sender (service token; every
owner, since the sender serves everyone). The bot records each one (``document.reminder_sent``) before it sends
it, and the projection marks it sent, so a reminder leaves this list once recorded (docs/adr/0015).

Which reminders are due is ``contracts.expiry.reminder_due``, the same pure rule whatever the engine: the query
only finds the live documents dated within the widest reminder window, one day at a time."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.core.errors import ApiError
from api.core.openapi_errors import OWNER_READ_ERRORS
from api.core.parameters import State
from api.core.security import require_service_token
from api.documents import queries
from api.documents.dependencies import page_limit
from api.documents.opening import opened_summary
from api.documents.queries import DatedDocument
from contracts.api_schemas import API_PREFIX, DueReminder, DueReminders
from contracts.events import StorableDate
from contracts.expiry import Reminder, reminder_due
from service_kit.crypto import PersonKeys

router = APIRouter(
    prefix=API_PREFIX + "/reminders",
    tags=["reminders"],
    dependencies=[Depends(require_service_token)],
    responses=OWNER_READ_ERRORS,
)
MAX_REMINDER_DAYS = 366
MAX_REMINDERS = 10
DAYS_PATTERN = r"^[0-9]{1,3}(,[0-9]{1,3}){0,9}$"
Day = Annotated[StorableDate, Query(description="The day (the bot's time zone) the reminders are for.")]
Days = Annotated[
    str, Query(max_length=4 * MAX_REMINDERS, pattern=DAYS_PATTERN, description="Days before the date, e.g. 30,7.")
]


def reminder_days(text: str) -> tuple[int, ...]:
    """``30,7`` -> (30, 7); 422 ``invalid_request`` beyond a year."""
    days = tuple(int(part) for part in text.split(","))
    if max(days) > MAX_REMINDER_DAYS:
        raise ApiError(422, "invalid_request", f"query.days: each at most {MAX_REMINDER_DAYS}")
    return days


def due_of(documents: list[DatedDocument], on: date, days: tuple[int, ...]) -> list[tuple[DatedDocument, Reminder]]:
    """Pure: the documents with a reminder due ``on``, each with that reminder."""
    found = []
    for document in documents:
        valid_until = document.summary.valid_until
        reminder = None if valid_until is None else reminder_due(valid_until, on, document.reminders_sent, days)
        if reminder is not None:
            found.append((document, reminder))
    return found


def _answer(
    due: list[tuple[DatedDocument, Reminder]], keys: dict[int, PersonKeys], languages: dict[int, str]
) -> list[DueReminder]:
    """Opened, in the person's language; a forgotten person (no key) has nothing left to remind of."""
    answer = []
    for document, reminder in due:
        person = keys.get(document.owner_id)
        if person is None:
            continue
        opened = opened_summary(person, document.summary)
        answer.append(
            DueReminder(
                owner_id=document.owner_id,
                document_id=opened.document_id,
                name=opened.name,
                type_title=opened.type_title,
                valid_until=reminder.due_on + timedelta(days=reminder.days_before),  # the document's date
                days_before=reminder.days_before,
                language=languages.get(document.owner_id, "en"),
            )
        )
    return answer


@router.get("/due", summary="Valid-until reminders due on a day, for every owner (the bot's sender)")
async def due_reminders(state: State, on: Day, days: Days, limit: Annotated[int, Depends(page_limit)]) -> DueReminders:
    windows = reminder_days(days)
    due: list[tuple[DatedDocument, Reminder]] = []
    for offset in range(max(windows) + 1):
        day = on + timedelta(days=offset)
        if len(due) >= limit or day.year > 2099:
            break
        due += due_of(await queries.dated_documents(state.database, day, limit), on, windows)
    due = due[:limit]
    owners = sorted({document.owner_id for document, _ in due})
    keys = await state.keys.find(owners) if owners else {}
    languages = await queries.find_languages(state.database, owners) if owners else {}
    return DueReminders(items=_answer(due, keys, languages))
