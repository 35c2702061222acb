"""finder: distance and name-search indexes

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23

The finder orders and limits by distance on the sphere (``location::geography <-> point``, and
``ST_DWithin`` on geography for the radius). Both can use only an index on that same expression;
the geometry index of 0001 orders by degrees, which in Britain stretches east-west distances by
about 1.6. The index is partial on published assets: the public never sees any other.

pg_trgm backs the keyword filter (``q``) and the place-name suggestions ("did you mean").
"""
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE INDEX ix_asset_published_geog ON asset USING gist ((location::geography)) "
        "WHERE status = 'published'"
    )
    # The same expression as assetmap.db.finder's keyword filter, so ILIKE '%word%' can use it.
    op.execute(
        "CREATE INDEX ix_asset_text_trgm ON asset USING gin "
        "((name || ' ' || coalesce(description, '')) gin_trgm_ops)"
    )
    op.execute("CREATE INDEX ix_area_name_trgm ON area USING gin (name gin_trgm_ops)")
    # Area-wide services covering a searched point: the areas come from area's GiST index, their
    # services from this one (few assets have a service area).
    op.execute(
        "CREATE INDEX ix_asset_service_area ON asset (service_area_id) "
        "WHERE service_area_id IS NOT NULL AND status = 'published'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_asset_service_area")
    op.execute("DROP INDEX IF EXISTS ix_area_name_trgm")
    op.execute("DROP INDEX IF EXISTS ix_asset_text_trgm")
    op.execute("DROP INDEX IF EXISTS ix_asset_published_geog")
    # pg_trgm stays: other features may use it, and dropping an extension is not this branch's call.
