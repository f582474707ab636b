"""Owner reads of the read models: types, pages of a type, search, one document, its history, small lookups,
and the read-your-writes gate; every MongoDB query of the API is in ``queries``."""
