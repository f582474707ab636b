"""``python -m bot``: run the Telegram bot in the mode ``BOT_MODE`` names (polling or webhook)."""

from __future__ import annotations

import asyncio
import gc

from service_kit.logging import configure_logging

from bot.runtime import run_polling, run_webhook, runtime
from bot.settings import BotSettings


async def main() -> None:
    settings = BotSettings()  # BOT_TOKEN and the rest come from the environment
    configure_logging("bot", settings.log_level)
    async with runtime(settings) as rt:
        # aiogram's thousands of models are built by now and live forever: keep the collector from walking them
        # again on every full collection (it cost the p99 in bench/bot.py).
        gc.freeze()
        await (run_webhook(rt) if settings.bot_mode == "webhook" else run_polling(rt))


if __name__ == "__main__":
    asyncio.run(main())
