"""/export and the menu's Export button: the person's live documents (every page) in one zip with an index, as a
Telegram document or, when too large for Telegram, as a signed link (``bot.services.exporting``). Every answer is
a new message (it stays in the chat's history) and offers the menu."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, InputFile, Message

from bot.clients.api_client import ExportLimited
from bot.injected import Person, Services
from bot.services.exporting import Delivery, ExportPlan, archive_file_name
from bot.telegram.streamed_file import StreamedFile
from bot.ui import keyboards
from bot.ui.callbacks import MenuAction, MenuCb
from bot.ui.dates import moment_text
from bot.ui.presentation import size_text
from bot.ui.screen import say

Target = Message | CallbackQuery


async def export(target: Target, services: Services, person: Person, bot: Bot) -> None:
    tr = person.tr
    plan = await services.exporter.plan(person.owner_id, person.after_event)
    if plan.delivery is Delivery.NOTHING:
        await say(target, tr("export.empty"), keyboards.main_menu(tr))
        return
    if plan.delivery is Delivery.TOO_LARGE:
        limit = size_text(tr, services.config.export_upload_limit_bytes)
        text = tr("export.too_large", size=size_text(tr, plan.summary.archive_bytes_max), limit=limit)
        await say(target, text, keyboards.main_menu(tr))
        return
    if isinstance(target, CallbackQuery):
        await target.answer()  # stop the spinner now: the archive may take longer than a button waits
    await say(target, tr("export.preparing", n=plan.summary.documents), keyboards.back_to_menu(tr))
    try:
        if plan.delivery is Delivery.LINK:
            await _send_link(target, services, person, plan)
        else:
            await _send_archive(target, services, person, bot, plan)
    except ExportLimited:
        await say(target, tr("export.limited"), keyboards.main_menu(tr))


def _chat_id(target: Target) -> int:
    """The person's private chat (the bot serves no other: ``bot.middlewares.private_chats``)."""
    return target.chat.id if isinstance(target, Message) else target.from_user.id


async def _send_archive(target: Target, services: Services, person: Person, bot: Bot, plan: ExportPlan) -> None:
    stream = services.exporter.archive(person.owner_id, person.after_event)
    first = await anext(stream, b"")  # API errors (limited, down) surface here, before Telegram is involved
    name = archive_file_name(datetime.now(UTC))
    upload: InputFile = StreamedFile(first, stream, name) if first else BufferedInputFile(b"", name)
    caption = person.tr("export.caption", n=plan.summary.documents)
    await bot.send_document(_chat_id(target), upload, caption=caption, reply_markup=keyboards.main_menu(person.tr))


async def _send_link(target: Target, services: Services, person: Person, plan: ExportPlan) -> None:
    tr = person.tr
    signed = await services.exporter.link(person.owner_id)
    expires = moment_text(tr.language, signed.expires_at, services.config.time_zone)
    size = size_text(tr, plan.summary.archive_bytes_max)
    text = tr("export.link", n=plan.summary.documents, size=size, url=signed.url, expires=expires)
    await say(target, text, keyboards.main_menu(tr))


def router() -> Router:
    r = Router(name="export")
    r.message.register(export, Command("export"))
    r.callback_query.register(export, MenuCb.filter(F.action == MenuAction.export))
    return r
