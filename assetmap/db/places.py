"""Queries for OS Open Names populated places (the finder's place search)."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db.bulk import copy_into_temp, upsert_counts


def delete_places_not_in_temp(session: Session) -> int:
    """Remove the places not in the staging table ``tmp_place``; how many."""
    return session.execute(text("DELETE FROM place WHERE os_id NOT IN (SELECT os_id FROM tmp_place)")).rowcount


def upsert_places(session: Session, rows: list[tuple]) -> tuple[int, int]:
    """Insert or update OS Open Names places from ``rows`` (os_id, name, name_key, local_type,
    district, county, postcode_district, lon, lat), left in ``tmp_place`` for
    :func:`delete_places_not_in_temp`. Returns (inserted, updated)."""
    copy_into_temp(
        session, "tmp_place",
        [("os_id", "varchar(40)"), ("name", "varchar(200)"), ("name_key", "varchar(200)"),
         ("local_type", "varchar(40)"), ("district", "varchar(120)"), ("county", "varchar(120)"),
         ("postcode_district", "varchar(4)"),
         ("lon", "float8"), ("lat", "float8")],
        rows,
    )
    return upsert_counts(
        session,
        """
        INSERT INTO place (os_id, name, name_key, local_type, district, county, postcode_district, location)
        SELECT os_id, name, name_key, local_type, district, county, postcode_district,
               ST_SetSRID(ST_MakePoint(lon, lat), 4326)
        FROM tmp_place
        ON CONFLICT (os_id) DO UPDATE SET
            name = EXCLUDED.name, name_key = EXCLUDED.name_key, local_type = EXCLUDED.local_type,
            district = EXCLUDED.district, county = EXCLUDED.county, postcode_district = EXCLUDED.postcode_district,
            location = EXCLUDED.location
        WHERE (place.name, place.local_type, place.district, place.county, place.postcode_district)
              IS DISTINCT FROM
              (EXCLUDED.name, EXCLUDED.local_type, EXCLUDED.district, EXCLUDED.county, EXCLUDED.postcode_district)
           OR NOT ST_Equals(place.location, EXCLUDED.location)
        RETURNING (xmax = 0)
        """,
    )
