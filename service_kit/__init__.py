"""Plumbing every DocVault service uses the same way. Nothing here connects at import time."""
