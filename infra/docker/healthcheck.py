"""Container healthcheck of the DocVault image (bot, processors, api): one HTTP GET on the service's own port.

Exit 0 when ``http://127.0.0.1:$HTTP_PORT$HEALTHCHECK_PATH`` answers 2xx within 3 seconds, 1 otherwise.
Every service serves ``/healthz`` on ``HTTP_PORT`` (api 8000, bot 8080, processors 8081 in compose).
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    port = os.environ.get("HTTP_PORT", "8080")
    path = os.environ.get("HEALTHCHECK_PATH", "/healthz")
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            status = int(response.status)
    except (OSError, ValueError) as error:  # refused, timed out, non-2xx (HTTPError), bad URL
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
        return 1
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
