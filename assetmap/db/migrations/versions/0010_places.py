"""places: the OS Open Names gazetteer of towns, villages, hamlets and suburbs

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

The finder's place search knew ward and council names only, so the names people type ("Craven
Arms", "Church Stretton", "Uppermill") were not found. ``place`` holds every populated place of
OS Open Names with its district and county (to tell same-named places apart) and its position;
``name_key`` is the name as compared with what was typed (``assetmap.domain.names.name_key``).
The trigram index backs typo-tolerant matching and "did you mean".
"""
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "place",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("os_id", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("local_type", sa.String(40), nullable=False),
        sa.Column("district", sa.String(120), nullable=True),
        sa.Column("county", sa.String(120), nullable=True),
        sa.Column("postcode_district", sa.String(4), nullable=True),
        sa.Column("location", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    )
    op.create_index("ix_place_name_trgm", "place", ["name"], postgresql_using="gin",
                    postgresql_ops={"name": "gin_trgm_ops"})
    op.create_index("ix_place_name_key", "place", ["name_key"])


def downgrade() -> None:
    op.drop_table("place")
