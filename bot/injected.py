"""What aiogram injects into handlers by name: ``services`` (built once, in the dispatcher's workflow data) and
``person`` (per update, put into the handler data by ``bot.middlewares.user_gate.UserGate``).

A handler takes ``services: Services, person: Person`` besides its event, ``state`` and ``callback_data``: it
parses the update, calls a service and renders the result; nothing is passed down by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clients.api_client import DocumentsApi
from bot.clients.person_store import UserStore
from bot.services.albums import AlbumCollector
from bot.services.event_recorder import EventAppender, EventRecorder
from bot.services.expiry import ValidUntil
from bot.services.forgetting import Forgetting
from bot.services.library import Library
from bot.services.limits import EventBudget
from bot.services.organising import Organiser
from bot.services.people import People
from bot.services.renaming import DocumentRenamer
from bot.services.saving import DocumentSaver
from bot.services.shelves import Shelves
from bot.settings import BotConfig
from bot.ui.i18n import Texts


@dataclass(frozen=True)
class Person:
    """The person behind the current update: who they are, their texts, and their last write (read-your-writes:
    reads pass it as ``after_event``, so the API answers once that event is applied)."""

    owner_id: int
    tr: Texts
    after_event: str | None = None


@dataclass(frozen=True)
class Services:
    """Everything handlers use that talks to the outside or decides for them; built once per dispatcher."""

    config: BotConfig
    store: UserStore
    recorder: EventRecorder
    saver: DocumentSaver
    renamer: DocumentRenamer
    library: Library
    shelves: Shelves
    people: People
    organiser: Organiser
    forgetting: Forgetting
    albums: AlbumCollector
    valid_until: ValidUntil

    @classmethod
    def build(cls, api: DocumentsApi, appender: EventAppender, store: UserStore, config: BotConfig) -> Services:
        recorder = EventRecorder(appender, store, EventBudget(store, config.event_budget_per_hour))
        return cls(
            config=config,
            store=store,
            recorder=recorder,
            saver=DocumentSaver(api, recorder),
            renamer=DocumentRenamer(api, recorder),
            library=Library(api, store, config),
            shelves=Shelves(api, store),
            people=People(store, recorder),
            organiser=Organiser(api, recorder),
            forgetting=Forgetting(store, recorder),
            albums=AlbumCollector(store, config.album_window_seconds),
            valid_until=ValidUntil(api, recorder, config),
        )
