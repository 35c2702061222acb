"""2021 statistical geography beside 2011: areas carry their vintage, names, rural class, lookups

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

What this adds, for the importers of IoD 2025, Census 2021 and the 2021 lookups, and for the gap
analysis that reads them:

``area.level`` values and their vintage
    ``lsoa`` LSOA 2011, ``msoa`` MSOA 2011, ``ward`` the wards of the 2011-era ward files (WD13),
    kept as they were; new: ``lsoa21`` LSOA 2021, ``msoa21`` MSOA 2021, ``ward24`` the current
    electoral wards / divisions (Shropshire's 2022 divisions, unchanged to 2024; Oldham's 2023
    wards; the ward of each LSOA 2021 in the 2024 best-fit lookup). ``lad``, ``town``, ``custom``
    as before.
``area.code`` is unique per level, no longer overall
    An unchanged LSOA keeps its code from 2011 to 2021, and ward codes often survive a review, so
    the same code is now an LSOA 2011 and an LSOA 2021 (two rows): ``UNIQUE (code, level)``.
``area.name``
    The readable name, built once by :func:`assetmap.domain.area_names.area_label`: an MSOA by its
    House of Commons Library name ("Oswestry East"), an LSOA as "Oswestry East (Shropshire 008A)",
    a ward by its name. ``area.ons_name`` keeps the publisher's own name ("Shropshire 008A").
``area.msoa_code``, ``area.ward_code``
    For an LSOA, the MSOA it nests in (from its ONS name) and, for LSOA 2021, its 2024 ward (best fit).
``area.ruc21_code``, ``area.rural``
    The 2021 Rural-Urban Classification of an LSOA 2021 (``UN1``, ``RLN1``... ) and whether it is rural.
``area.population`` of an ``lsoa21`` is its Census 2021 total (usual residents).
``area.pop_0_15``, ``pop_16_59``, ``pop_60_plus`` of an ``lsoa21`` are estimates: the Census 2021 total
    times the IoD 2019 (mid-2015) age shares carried through the 2011 -> 2021 lookup;
    ``area.pop_method`` says so in words.
``lsoa_lookup``
    The ONS LSOA 2011 -> 2021 lookup: ``lsoa11_code, lsoa21_code, change_code`` (U unchanged, S
    split, M merged, X irregular), ``lad_code``.
``msoa_name``
    The House of Commons Library MSOA names, as published (2011 and 2021 each in their own file):
    ``code, level`` (``msoa`` / ``msoa21``), ``ons_name`` ("Shropshire 008"), ``name`` ("Oswestry
    East"). Kept whole, so LSOAs are named even where their MSOA's boundary is not loaded.
``indicator.area_level`` is the indicator's geography (``lsoa`` for IoD 2019, ``lsoa21`` for IoD 2025);
    ``indicator.year`` its year; the new ``indicator.method`` says how a derived indicator was made.
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OLD_LEVELS = "('lsoa', 'msoa', 'ward', 'lad', 'town', 'custom')"
NEW_LEVELS = "('lsoa', 'msoa', 'ward', 'lad', 'town', 'custom', 'lsoa21', 'msoa21', 'ward24')"


def upgrade() -> None:
    # Written to be re-run safely (IF [NOT] EXISTS): a database stamped at the old feature heads
    # replays the revisions after them.
    op.execute("ALTER TABLE area DROP CONSTRAINT IF EXISTS ck_area_level")
    op.execute(f"ALTER TABLE area ADD CONSTRAINT ck_area_level CHECK (level IN {NEW_LEVELS})")
    op.execute("ALTER TABLE area DROP CONSTRAINT IF EXISTS area_code_key")
    op.execute("ALTER TABLE area DROP CONSTRAINT IF EXISTS uq_area_code_level")
    op.execute("ALTER TABLE area ADD CONSTRAINT uq_area_code_level UNIQUE (code, level)")
    op.execute("CREATE INDEX IF NOT EXISTS ix_area_code ON area (code)")
    for column, kind in [("ons_name", "varchar(200)"), ("msoa_code", "varchar(10)"), ("ward_code", "varchar(10)"),
                         ("ruc21_code", "varchar(6)"), ("rural", "boolean"), ("pop_method", "text")]:
        op.execute(f"ALTER TABLE area ADD COLUMN IF NOT EXISTS {column} {kind}")
    op.execute("ALTER TABLE indicator ADD COLUMN IF NOT EXISTS method text")
    op.execute("UPDATE area SET ons_name = name WHERE ons_name IS NULL AND level IN ('lsoa', 'msoa', 'ward')")
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS lsoa_lookup (
            lsoa11_code varchar(10) NOT NULL,
            lsoa21_code varchar(10) NOT NULL,
            change_code varchar(1) NOT NULL,
            lad_code varchar(10),
            CONSTRAINT ck_lsoa_lookup_change CHECK (change_code IN ('U', 'S', 'M', 'X')),
            PRIMARY KEY (lsoa11_code, lsoa21_code)
        )
        """
    )
    op.execute("CREATE INDEX IF NOT EXISTS ix_lsoa_lookup_lsoa21 ON lsoa_lookup (lsoa21_code)")
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS msoa_name (
            code varchar(10) NOT NULL,
            level varchar(10) NOT NULL,
            ons_name varchar(200) NOT NULL,
            name varchar(200) NOT NULL,
            PRIMARY KEY (code, level)
        )
        """
    )
    op.execute("CREATE INDEX IF NOT EXISTS ix_msoa_name_ons_name ON msoa_name (level, ons_name)")


def downgrade() -> None:
    op.drop_index("ix_msoa_name_ons_name", table_name="msoa_name")
    op.drop_table("msoa_name")
    op.drop_index("ix_lsoa_lookup_lsoa21", table_name="lsoa_lookup")
    op.drop_table("lsoa_lookup")
    op.drop_column("indicator", "method")
    for col in ("pop_method", "rural", "ruc21_code", "ward_code", "msoa_code", "ons_name"):
        op.drop_column("area", col)
    op.execute("DELETE FROM area WHERE level IN ('lsoa21', 'msoa21', 'ward24')")
    op.drop_index("ix_area_code", table_name="area")
    op.drop_constraint("uq_area_code_level", "area", type_="unique")
    op.create_unique_constraint("area_code_key", "area", ["code"])
    op.drop_constraint("ck_area_level", "area", type_="check")
    op.create_check_constraint("ck_area_level", "area", f"level IN {OLD_LEVELS}")
