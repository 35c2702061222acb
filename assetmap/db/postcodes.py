"""Storing Code-Point Open postcodes: one set-based upsert of every row an import read."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from assetmap.db.bulk import copy_into_temp, upsert_counts

__all__ = ["POSTCODE_COLUMNS", "upsert_postcodes"]

POSTCODE_COLUMNS = [
    ("postcode", "varchar(8)"), ("outward", "varchar(4)"), ("easting", "int"), ("northing", "int"),
    ("quality", "int"), ("lad_code", "varchar(10)"), ("ward_code", "varchar(10)"),
    ("lon", "float8"), ("lat", "float8"),
]


def upsert_postcodes(session: Session, rows: Iterable[tuple]) -> tuple[int, int]:
    """Insert or update postcodes from ``rows`` (tuples in :data:`POSTCODE_COLUMNS` order, WGS84
    ``lon``/``lat``); a postcode whose position and codes are unchanged is left alone.

    Returns
    -------
    tuple[int, int]
        Rows inserted and rows updated.
    """
    copy_into_temp(session, "tmp_postcode", POSTCODE_COLUMNS, rows)
    return upsert_counts(
        session,
        """
        INSERT INTO postcode (postcode, outward, easting, northing, quality, lad_code, ward_code, location)
        SELECT postcode, outward, easting, northing, quality, lad_code, ward_code,
               ST_SetSRID(ST_MakePoint(lon, lat), 4326)
        FROM tmp_postcode
        ON CONFLICT (postcode) DO UPDATE SET
            outward = EXCLUDED.outward, easting = EXCLUDED.easting, northing = EXCLUDED.northing,
            quality = EXCLUDED.quality, lad_code = EXCLUDED.lad_code, ward_code = EXCLUDED.ward_code,
            location = EXCLUDED.location
        WHERE (postcode.easting, postcode.northing, postcode.quality, postcode.lad_code, postcode.ward_code)
              IS DISTINCT FROM
              (EXCLUDED.easting, EXCLUDED.northing, EXCLUDED.quality, EXCLUDED.lad_code, EXCLUDED.ward_code)
        RETURNING (xmax = 0)
        """,
    )
