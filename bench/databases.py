"""A benchmark's own database, next to the development one on the same PostgreSQL server
(the embedded one unless DATABASE_URL says otherwise)."""

from __future__ import annotations

import os
from urllib.parse import urlparse, urlunparse


def own_database_url(name: str, *, rebuild: bool = False) -> str:
    """Create database ``name`` if missing (dropped first with ``rebuild``); return its URL."""
    import psycopg

    from portal.embedded import ensure_environment

    ensure_environment()
    base = os.environ["DATABASE_URL"]
    with psycopg.connect(base, autocommit=True) as admin:
        if rebuild:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(urlparse(base)._replace(path=f"/{name}"))
