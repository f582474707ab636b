"""Container healthcheck of the DocVault image (bot, processors, api): one HTTP GET on the service's own port.

``python healthcheck.py [PATH]``: exit 0 when ``http://127.0.0.1:$HTTP_PORT$PATH`` answers 2xx within 4 seconds,
1 otherwise. PATH defaults to ``/readyz``: healthy means ready (the API reaches MongoDB and S3; the processor
MongoDB and its streams; the bot Telegram, Redis and the API), not merely that the process answers.
"""

from __future__ import annotations

import os
import sys
import urllib.request

DEFAULT_PATH = "/readyz"


def main(argv: list[str]) -> int:
    port = os.environ.get("HTTP_PORT", "8080")
    path = argv[0] if argv else DEFAULT_PATH
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            status = int(response.status)
    except (OSError, ValueError) as error:  # refused, timed out, non-2xx (HTTPError), bad URL
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
        return 1
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
