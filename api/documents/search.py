"""How a search query becomes index lookups: the same normalization the processors apply to names."""

from __future__ import annotations

from contracts.text import MAX_PREFIX_LENGTH, name_key, search_tokens

MAX_SEARCH_TERMS = 8


class EmptySearch(ValueError):
    pass


def search_terms(query: str) -> list[str]:
    """Case- and accent-folded word prefixes, each at most as long as the longest indexed prefix.

    "Паспорт РФ" -> ["паспорт", "рф"]; "CAFÉ" -> ["cafe"]. A query without letters or digits has
    nothing an index could match and is refused.
    """
    terms = list(dict.fromkeys(token[:MAX_PREFIX_LENGTH] for token in search_tokens(name_key(query))))
    if not terms:
        raise EmptySearch("the query must contain a letter or a digit")
    return terms[:MAX_SEARCH_TERMS]
