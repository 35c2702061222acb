"""PostgreSQL advisory locks that keep operations from overlapping: a restore, a reminder run.

Every lock is the pair (``NAMESPACE``, one of the ids below), so they cannot collide with any other
program's single-number advisory locks on the same database.
"""
from __future__ import annotations

from sqlalchemy import text

NAMESPACE = 0x61736D70  # "asmp"
RESTORE = 1
REMINDERS = 2


def try_transaction_lock(handle, lock_id: int) -> bool:
    """Take the lock until the caller's transaction ends; False (at once) if another holds it."""
    return bool(handle.execute(text("SELECT pg_try_advisory_xact_lock(:ns, :id)"),
                               {"ns": NAMESPACE, "id": lock_id}).scalar_one())


def hold_session_lock(connection, lock_id: int) -> bool:
    """Take the lock for as long as ``connection`` stays open (not tied to a transaction)."""
    return bool(connection.execute(text("SELECT pg_try_advisory_lock(:ns, :id)"),
                                   {"ns": NAMESPACE, "id": lock_id}).scalar_one())


def is_held(handle, lock_id: int) -> bool:
    """Does any session of this database hold the lock? Reads ``pg_locks`` only: never waits."""
    return bool(handle.execute(text(
        """
        SELECT EXISTS (SELECT 1 FROM pg_locks
                       WHERE locktype = 'advisory' AND granted AND objsubid = 2
                         AND classid = CAST(:ns AS oid) AND objid = CAST(:id AS oid)
                         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
        """
    ), {"ns": NAMESPACE, "id": lock_id}).scalar_one())
