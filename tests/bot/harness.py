"""Drive the real dispatcher with updates through ``Dispatcher.feed_update``; record every Bot API call.

``RecordingSession`` answers Bot API methods the way Telegram would (enough for the bot) and can be told to
fail a method once (429, "message is not modified", "wrong file identifier"). It keeps every message the bot
sent with its current content (an edit keeps the message id, as in Telegram), so a person presses a button on
the message that shows it: the last keyboard by default, or any message still on screen above.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetFile,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    CallbackQuery,
    Chat,
    Document,
    File,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    PhotoSize,
    Update,
    User,
)

from bot.telegram.session import TelegramCalls

BOT_TOKEN = "42:TEST-token"
BOT_USER = User(id=42, is_bot=True, first_name="DocVault")
_ids = itertools.count(1000)


def _next_id() -> int:
    return next(_ids)


class RecordingSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self.files: dict[str, bytes] = {}  # file_id -> bytes a person "sent"
        self.uploaded: list[tuple[str, bytes]] = []  # (file name, bytes) the bot uploaded
        self.failures: dict[type[TelegramMethod[Any]], list[Any]] = defaultdict(list)
        self.waits: list[float] = []
        self.messages: dict[tuple[int, int], Message] = {}  # (chat id, message id) -> what it shows now
        self.last_keyboard: Message | None = None
        self.last_keyboards: dict[int, Message] = {}  # chat id -> the latest message there with buttons
        self.dead_ends: list[TelegramMethod[Any]] = []  # messages shown in a private chat without a way on
        self.middleware(TelegramCalls(max_wait_seconds=5, sleep=self._no_sleep))

    async def _no_sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def fail_next(self, method: type[TelegramMethod[Any]], make_error: Any) -> None:
        """``make_error(method)`` builds the exception raised by the next call of ``method``."""
        self.failures[method].append(make_error)

    async def close(self) -> None:
        pass

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        self.requests.append(method)
        if dead_end(method):
            self.dead_ends.append(method)
        pending = self.failures.get(type(method))
        if pending:
            error = pending.pop(0)(method)
            assert isinstance(error, TelegramAPIError)
            raise error
        return cast(TelegramType, await self._result(bot, method))

    async def _result(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, SendMessage):
            return self._keep(_message(int(method.chat_id), text=method.text, reply_markup=method.reply_markup), bot)
        if isinstance(method, EditMessageText):
            if method.message_id is None or method.chat_id is None:
                return True  # an inline message: Telegram answers True
            edited = _message(
                int(method.chat_id), text=method.text, reply_markup=method.reply_markup, message_id=method.message_id
            )
            return self._keep(edited, bot)
        if isinstance(method, (SendDocument, SendPhoto)):
            return await self._sent_file(bot, method)
        if isinstance(method, GetFile):
            data = self.files[method.file_id]
            return File(
                file_id=method.file_id,
                file_unique_id="u" + method.file_id,
                file_size=len(data),
                file_path=f"documents/{method.file_id}",
            )
        return True

    async def _sent_file(self, bot: Bot, method: SendDocument | SendPhoto) -> Message:
        payload = method.document if isinstance(method, SendDocument) else method.photo
        if isinstance(payload, InputFile):
            data = b"".join([chunk async for chunk in cast(AsyncIterator[bytes], payload.read(bot))])
            self.uploaded.append((payload.filename or "", data))
        return self._keep(
            _message(int(method.chat_id), text=None, caption=method.caption, reply_markup=method.reply_markup), bot
        )

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        file_id = url.rsplit("/", 1)[-1]
        data = self.files[file_id]
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]

    def _keep(self, message: Message, bot: Bot) -> Message:
        self.messages[(message.chat.id, message.message_id)] = message
        if isinstance(message.reply_markup, InlineKeyboardMarkup):
            self.last_keyboard = self.last_keyboards[message.chat.id] = message
        return message.as_(bot)

    def message_showing(self, text_part: str) -> Message:
        """The latest message still showing a button whose text contains ``text_part`` (one further up)."""
        for message in reversed(self.messages.values()):
            if _button_data(message, text_part) is not None:
                return message
        raise AssertionError(f"no message shows a button with {text_part!r}")

    def calls(self, method: type[TelegramMethod[Any]]) -> list[Any]:
        return [request for request in self.requests if isinstance(request, method)]

    def texts(self) -> list[str]:
        """Texts the person saw, in order: messages sent or edited, and callback alerts."""
        seen = []
        for request in self.requests:
            if isinstance(request, (SendMessage, EditMessageText)) and request.text:
                seen.append(request.text)
            elif isinstance(request, AnswerCallbackQuery) and request.text:
                seen.append(request.text)
        return seen

    def last_markup(self) -> InlineKeyboardMarkup:
        for request in reversed(self.requests):
            markup = getattr(request, "reply_markup", None)
            if isinstance(markup, InlineKeyboardMarkup):
                return markup
        raise AssertionError("no keyboard was sent")


SHOWN = (SendMessage, EditMessageText, SendDocument, SendPhoto)


def dead_end(method: TelegramMethod[Any]) -> bool:
    """A message shown to a person in their private chat with no button to go on (Menu, Back, the next step).

    Groups are left out: the bot says one thing there (it works only in private chats) and a button there would
    only answer "this button works only in your own private chat"."""
    if not isinstance(method, SHOWN) or method.chat_id is None or int(method.chat_id) < 0:
        return False
    markup = method.reply_markup
    return not (isinstance(markup, InlineKeyboardMarkup) and any(markup.inline_keyboard))


def _message(
    chat_id: int, text: str | None, reply_markup: Any = None, message_id: int | None = None, **fields: Any
) -> Message:
    chat = Chat(id=chat_id, type="private" if chat_id > 0 else "group")  # group ids are negative in Telegram
    return Message(
        message_id=message_id or _next_id(),
        date=datetime.now(UTC),
        chat=chat,
        from_user=BOT_USER,
        text=text,
        reply_markup=reply_markup,
        **fields,
    )


def _button_data(message: Message, text_part: str) -> str | None:
    markup = message.reply_markup
    if not isinstance(markup, InlineKeyboardMarkup):
        return None
    return next(
        (
            button.callback_data
            for row in markup.inline_keyboard
            for button in row
            if text_part in button.text and button.callback_data
        ),
        None,
    )


def make_bot(session: RecordingSession) -> Bot:
    return Bot(BOT_TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


class Person:
    """A Telegram user talking to the bot in a private chat."""

    def __init__(
        self, dispatcher: Dispatcher, bot: Bot, session: RecordingSession, user_id: int, language: str = "en"
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.session = session
        self.user = User(id=user_id, is_bot=False, first_name="Ann", language_code=language)
        self.chat = Chat(id=user_id, type="private")
        self.last_update: Update | None = None

    def _message(self, chat: Chat | None = None, **fields: Any) -> Message:
        return Message(
            message_id=_next_id(), date=datetime.now(UTC), chat=chat or self.chat, from_user=self.user, **fields
        )

    async def feed(self, **update_fields: Any) -> Any:
        """Handle one update; a Bot API call the handlers return is made, as polling and webhooks do."""
        self.last_update = Update(update_id=_next_id(), **update_fields)
        return await self.delivers(self.last_update)

    async def delivers(self, update: Update) -> Any:
        """Handle ``update`` as Telegram delivered it (again, when it is one this person sent before)."""
        result = await self.dispatcher.feed_update(self.bot, update)
        if isinstance(result, TelegramMethod):
            await self.bot(result)
        return result

    async def send(self, **message_fields: Any) -> Any:
        return await self.feed(message=self._message(**message_fields))

    async def says(self, text: str) -> Any:
        return await self.send(text=text)

    async def says_in(self, chat: Chat, text: str) -> Any:
        """A message in another chat (a group the bot is a member of)."""
        return await self.feed(message=self._message(chat=chat, text=text))

    async def sends_file(
        self,
        data: bytes,
        file_name: str | None = "scan.pdf",
        mime: str | None = "application/pdf",
        size: int | None = None,
        **extra: Any,
    ) -> str:
        file_id = f"doc{_next_id()}"
        self.session.files[file_id] = data
        document = Document(
            file_id=file_id,
            file_unique_id="u" + file_id,
            file_name=file_name,
            mime_type=mime,
            file_size=len(data) if size is None else size,
        )
        await self.send(document=document, **extra)
        return file_id

    async def sends_photo(self, data: bytes, caption: str | None = None) -> str:
        file_id = f"photo{_next_id()}"
        self.session.files[file_id] = data
        sizes = [
            PhotoSize(file_id="small" + file_id, file_unique_id="s", width=90, height=90, file_size=10),
            PhotoSize(file_id=file_id, file_unique_id="u" + file_id, width=800, height=600, file_size=len(data)),
        ]
        await self.send(photo=sizes, caption=caption)
        return file_id

    async def presses(self, data: CallbackData | str, on: Message | None = None) -> Any:
        """Press a button with ``data`` on ``on`` (default: the message showing the last keyboard in this person's
        chat; a fresh message of the bot when none was shown there yet)."""
        packed = data if isinstance(data, str) else data.pack()
        shown_on = on or self.session.last_keyboards.get(self.chat.id) or _message(self.chat.id, text="…")
        query = CallbackQuery(
            id=str(_next_id()), from_user=self.user, chat_instance="ci", data=packed, message=shown_on
        )
        return await self.feed(callback_query=query)

    async def presses_button(self, text_part: str, on: Message | None = None) -> Any:
        """Press the button whose text contains ``text_part`` on ``on`` (default: the last keyboard shown)."""
        message = on or self.session.last_keyboards.get(self.chat.id)
        assert message is not None, "the bot has shown this person no keyboard yet"
        data = _button_data(message, text_part)
        assert data is not None, f"no button with {text_part!r} in {message.reply_markup}"
        return await self.presses(data, on=message)

    async def state(self) -> str | None:
        context = self.dispatcher.fsm.resolve_context(self.bot, self.chat.id, self.user.id)
        assert context is not None
        return await context.get_state()

    def saw(self) -> list[str]:
        return self.session.texts()

    def last_text(self) -> str:
        return self.saw()[-1]
