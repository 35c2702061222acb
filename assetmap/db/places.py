"""Queries for OS Open Names populated places (the finder's place search)."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def delete_places_not_in_temp(session: Session) -> int:
    """Remove the places not in the staging table ``tmp_place``; how many."""
    return session.execute(text("DELETE FROM place WHERE os_id NOT IN (SELECT os_id FROM tmp_place)")).rowcount
