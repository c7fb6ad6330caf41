"""django-tenants' PostgreSQL backend, without the repeated ``SET search_path``.

django-tenants forgets the search path whenever a tenant is selected, so even with
``TENANT_LIMIT_SET_CALLS`` every request pays one ``SET search_path`` round trip, although
a persistent connection usually has exactly that path already (a worker serving the same
organization's address again). This backend remembers the path the database session
really has and skips the statement when it would not change it. Whatever can undo a
``SET`` (a rollback, a rollback to a savepoint, a closed connection) forgets it, so the
next cursor sets the path again.

It also gives every new database session the settings the portal's queries rely on
(``SESSION_SETTINGS``), once at connect, rather than a ``set_config`` before each query.
"""

from __future__ import annotations

from typing import Any

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

# Settings of every database session. ``pg_trgm.word_similarity_threshold``: the word
# similarity from which a patient's name matches a search (``%>``, portal.patients.selectors);
# pg_trgm's default of 0.6 misses a name with one letter dropped.
SESSION_SETTINGS = {"pg_trgm.word_similarity_threshold": "0.45"}


class DatabaseWrapper(TenantDatabaseWrapper):
    search_path_set_schemas: list[str] | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.session_search_path: list[str] | None = None
        super().__init__(*args, **kwargs)

    def _handle_search_path(self, cursor: Any = None) -> None:
        if (
            not self._setting_search_path
            and self.search_path_set_schemas is None
            and self.session_search_path is not None
            and self.schema_name
            and self.session_search_path == self._get_cursor_search_paths()
        ):
            self.search_path_set_schemas = self.session_search_path
            return
        before = self.search_path_set_schemas
        super()._handle_search_path(cursor)
        if self.search_path_set_schemas is not before:  # a SET was sent (or failed)
            self.session_search_path = self.search_path_set_schemas

    def _configure_connection(self, connection: Any) -> bool:
        """Django's configuration of a new connection (time zone, role), then ours; like
        those, committed at once, so no later rollback undoes it."""
        super()._configure_connection(connection)
        with connection.cursor() as cursor:
            for name, value in SESSION_SETTINGS.items():
                cursor.execute("SELECT set_config(%s, %s, false)", [name, value])
        return True

    def close(self) -> None:
        self.session_search_path = None
        super().close()

    # Cleared after the rollback, which itself needs a cursor (and may set the path).
    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.session_search_path = None

    def savepoint_rollback(self, sid: Any) -> None:
        try:
            super().savepoint_rollback(sid)
        finally:
            self.session_search_path = None
