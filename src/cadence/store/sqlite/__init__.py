"""The embedded SQLite store (registered as ``sqlite`` in the ``cadence.stores`` entry-point group)."""

from cadence.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
