"""Run Poetry against a package index that serves the simple API but not per-release JSON.

Poetry's PyPI repository reads ``/pypi/<name>/<version>/json`` to learn a release's
files and dependencies. Some mirrors (including the registry this project's machines
reach) answer that endpoint with 404 while serving the simple index (PEP 691) fully.
When that happens this shim builds the same answer from the simple index and leaves
``requires_dist`` unknown, so Poetry reads the dependencies from the release's own
metadata file (PEP 658) or archive, exactly as it does for any other index.
Where the JSON API answers, nothing changes.

Usage: ``python tools/poetry_shim.py <any poetry arguments>``.
"""

from __future__ import annotations

import sys
from typing import Any

from packaging.utils import canonicalize_name
from poetry.console.application import main
from poetry.core.constraints.version import Version
from poetry.repositories.pypi_repository import PyPiRepository

_json_api_get = PyPiRepository._get


def _release_from_simple_index(repo: PyPiRepository, name: str, version: str) -> dict[str, Any]:
    page = repo.get_page(canonicalize_name(name))
    links = page.links_for_version(canonicalize_name(name), Version.parse(version))
    return {
        "info": {
            "name": name,
            "version": version,
            "summary": "",
            "requires_dist": None,
            "requires_python": None,
        },
        "urls": [
            {
                "packagetype": "bdist_wheel" if link.is_wheel else "sdist",
                "filename": link.filename,
                "url": link.url_without_fragment,
                "digests": {"sha256": link.hashes.get("sha256", "")},
                "yanked": link.yanked,
            }
            for link in links
        ],
    }


def _get_with_fallback(
    self: PyPiRepository, endpoint: str, headers: dict[str, str] | None = None
) -> dict[str, Any] | None:
    answer = _json_api_get(self, endpoint, headers)
    parts = endpoint.strip("/").split("/")
    if answer is None and len(parts) == 4 and parts[0] == "pypi" and parts[3] == "json":
        return _release_from_simple_index(self, parts[1], parts[2])
    return answer


PyPiRepository._get = _get_with_fallback  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
