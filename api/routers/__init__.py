"""Routers per domain: documents (owner reads), files (upload, download, links), health (ops)."""
