"""Start-up calls to Telegram: retried with backoff while it is unreachable, refused for good when it says no."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram.exceptions import TelegramBadRequest, TelegramNotFound, TelegramUnauthorizedError

log = logging.getLogger(__name__)
STARTUP_RETRY_MAX_SECONDS = 30.0
T = TypeVar("T")


class StartupRefused(Exception):
    """Telegram refused what the settings say (the token, the webhook): retrying cannot help."""


async def until_telegram_answers(call: Callable[[], Awaitable[T]], what: str) -> T:
    """``call()`` retried with backoff while Telegram is unreachable; ``StartupRefused`` when it says no."""
    delay = 0.5
    while True:
        try:
            return await call()
        except (TelegramUnauthorizedError, TelegramNotFound) as error:
            raise StartupRefused(
                f"BOT_TOKEN: Telegram answered {error.message!r}: the token is wrong or was revoked in @BotFather"
            ) from None
        except TelegramBadRequest as error:
            raise StartupRefused(f"{what}: Telegram refused it: {error.message}") from None
        except Exception as error:  # unreachable, 5xx, flood wait: it may answer later
            details = {"call": what, "error": repr(error)[:200], "retry_in": delay}
            log.warning("Telegram did not answer, retrying", extra=details)
            await asyncio.sleep(delay)
            delay = min(delay * 2, STARTUP_RETRY_MAX_SECONDS)
