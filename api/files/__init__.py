"""A document's bytes: streamed uploads under the storage limits, streamed and ranged downloads, signed links."""
