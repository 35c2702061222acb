"""Queries for the 2021 geography's reference tables: loaded area ids, area columns set from a
staging table, the LSOA 2011 -> 2021 lookup and the MSOA names (migration 0012)."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def loaded_area_ids(session: Session, level: str, lad_codes: list[str] | None = None) -> dict[str, int]:
    """Code -> id of the loaded areas of ``level`` (in the authorities named, if any)."""
    where = "" if not lad_codes else "AND lad_code = ANY(:lads)"
    return dict(session.execute(text(f"SELECT code, id FROM area WHERE level = :level {where}"),
                                {"level": level, "lads": list(lad_codes or [])}).all())


def update_areas_from_temp(session: Session, level: str, names: list[str]) -> list[bool]:
    """Set columns ``names`` of areas of ``level`` from ``tmp_area_update``; per changed row, whether it was empty."""
    sets = ", ".join(f"{c} = t.{c}" for c in names)
    was_empty = " AND ".join(f"a.{c} IS NULL" for c in names)
    return session.execute(text(
        f"""
        WITH old AS (SELECT a.id, ({was_empty}) AS empty FROM area a JOIN tmp_area_update t ON t.code = a.code
                     WHERE a.level = :level AND ({', '.join('a.' + c for c in names)}) IS DISTINCT FROM
                                                ({', '.join('t.' + c for c in names)}))
        UPDATE area a SET {sets} FROM tmp_area_update t, old
        WHERE a.id = old.id AND t.code = a.code
        RETURNING old.empty
        """
    ), {"level": level}).scalars().all()


def lsoa_lookup_change_codes(session: Session, lsoa21_codes: list[str]) -> dict[tuple[str, str], str]:
    """(LSOA 2011, LSOA 2021) -> change code of the stored lookup rows for these LSOAs 2021."""
    return dict(((r[0], r[1]), r[2]) for r in session.execute(text(
        "SELECT lsoa11_code, lsoa21_code, change_code FROM lsoa_lookup WHERE lsoa21_code = ANY(:c)"),
        {"c": lsoa21_codes}).all())


def upsert_lsoa_lookup_from_temp(session: Session) -> None:
    """Insert or update ``lsoa_lookup`` rows from the staging table ``tmp_lsoa_lookup``."""
    session.execute(text(
        """
        INSERT INTO lsoa_lookup (lsoa11_code, lsoa21_code, change_code, lad_code)
        SELECT lsoa11_code, lsoa21_code, change_code, lad_code FROM tmp_lsoa_lookup
        ON CONFLICT (lsoa11_code, lsoa21_code) DO UPDATE SET change_code = EXCLUDED.change_code,
            lad_code = EXCLUDED.lad_code
        """
    ))


def msoa_names(session: Session, level: str) -> dict[str, tuple[str, str]]:
    """Code -> (ONS name, readable name) of the stored MSOA names of ``level``."""
    return {r[0]: (r[1], r[2]) for r in session.execute(
        text("SELECT code, ons_name, name FROM msoa_name WHERE level = :l"), {"l": level}).all()}


def upsert_msoa_names_from_temp(session: Session) -> None:
    """Insert or update ``msoa_name`` rows from the staging table ``tmp_msoa_name``."""
    session.execute(text(
        """
        INSERT INTO msoa_name (code, level, ons_name, name) SELECT code, level, ons_name, name FROM tmp_msoa_name
        ON CONFLICT (code, level) DO UPDATE SET ons_name = EXCLUDED.ons_name, name = EXCLUDED.name
        """
    ))
