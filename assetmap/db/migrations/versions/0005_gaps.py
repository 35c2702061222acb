"""gaps: gap runs, their scores and supply, LSOA points and tile shapes

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-23

A *run* is one gap analysis: its parameters (local authority, category, need indicator,
population group, radius, decay) in ``gap_run.params``, one ``gap_score`` row per area reported,
and in ``gap_supply`` the assets it counted, with the position and capacity they had. The supply
rows are what makes the recompute after one asset change exact and local: they say which runs
counted the asset and where it was, so moving or archiving it updates only the areas within reach
of its old and new positions.

``area_point`` keeps each LSOA's population point, ``ST_PointOnSurface`` of the polygon in
EPSG:27700 (metres), and ``area_tile_geom`` its outline in EPSG:3857 generalised for three zoom
bands, so vector tiles are cut without re-projecting or simplifying on every request. Both are
filled by ``assetmap compute gaps`` (and for missing areas when a run needs them).

The partial GiST index on published assets' EPSG:27700 position serves the supply queries'
bounding boxes in metres.
"""
import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gap_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("params", postgresql.JSONB(), nullable=False),
        sa.Column("term_id", sa.Integer(), sa.ForeignKey("taxonomy_term.id", ondelete="CASCADE"), nullable=False),
        sa.Column("lad_code", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="current"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        # Where supply counts for this run (EPSG:27700); all NULL when the run covers every loaded area.
        sa.Column("box_xmin", sa.Float()),
        sa.Column("box_ymin", sa.Float()),
        sa.Column("box_xmax", sa.Float()),
        sa.Column("box_ymax", sa.Float()),
        sa.Column("summary", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.CheckConstraint("status IN ('running', 'current', 'superseded', 'failed')", name="ck_gap_run_status"),
    )
    # One current run per set of parameters: the page, the API and the tiles all read that one.
    op.create_index("uq_gap_run_current_params", "gap_run", ["params"], unique=True,
                    postgresql_where=sa.text("status = 'current'"))
    op.create_index("ix_gap_run_term", "gap_run", ["term_id", "status"])

    op.create_table(
        "gap_score",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("gap_run.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("area.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("term_id", sa.Integer(), nullable=False),
        sa.Column("population", sa.Float()),
        sa.Column("provision", sa.Float(), nullable=False),
        sa.Column("nearest_m", sa.Float()),
        sa.Column("need_value", sa.Float()),
        sa.Column("need_pct", sa.Float()),
        sa.Column("provision_pct", sa.Float()),
        sa.Column("gap", sa.Float()),
        sa.Column("class", sa.String(40), nullable=False),
    )
    op.create_index("ix_gap_score_area", "gap_score", ["area_id", "term_id"])

    op.create_table(
        "gap_supply",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("gap_run.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("asset_id", sa.Integer(), primary_key=True),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("capacity", sa.Float()),
    )
    op.create_index("ix_gap_supply_asset", "gap_supply", ["asset_id"])

    op.create_table(
        "area_point",
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("area.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("pt", geoalchemy2.types.Geometry("POINT", srid=27700, spatial_index=False), nullable=False),
        sa.Column("geom_md5", sa.String(32), nullable=False),
    )
    op.create_index("ix_area_point_pt", "area_point", ["pt"], postgresql_using="gist")

    op.create_table(
        "area_tile_geom",
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("area.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("geom_lo", geoalchemy2.types.Geometry(srid=3857, spatial_index=False), nullable=False),
        sa.Column("geom_mid", geoalchemy2.types.Geometry(srid=3857, spatial_index=False), nullable=False),
        sa.Column("geom_hi", geoalchemy2.types.Geometry(srid=3857, spatial_index=False), nullable=False),
        sa.Column("geom_md5", sa.String(32), nullable=False),
    )
    op.create_index("ix_area_tile_geom_lo", "area_tile_geom", ["geom_lo"], postgresql_using="gist")
    op.create_index("ix_area_tile_geom_mid", "area_tile_geom", ["geom_mid"], postgresql_using="gist")
    op.create_index("ix_area_tile_geom_hi", "area_tile_geom", ["geom_hi"], postgresql_using="gist")

    op.execute(
        "CREATE INDEX ix_asset_published_27700 ON asset USING gist ((ST_Transform(location, 27700))) "
        "WHERE status = 'published' AND location IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_asset_published_27700")
    op.drop_table("area_tile_geom")
    op.drop_table("area_point")
    op.drop_table("gap_supply")
    op.drop_table("gap_score")
    op.drop_table("gap_run")
