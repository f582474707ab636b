"""The language the DocVault services share: the vocabulary (document statuses, the
slug pattern), effects, events, stream names, read models, API schemas.

Nothing here performs I/O. ``contracts.read_models`` is imported only by the services that own
MongoDB access (processors and API); the bot imports the rest.
"""
