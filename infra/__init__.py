"""Deployment files; the Python ones are also imported by tests/infra."""
