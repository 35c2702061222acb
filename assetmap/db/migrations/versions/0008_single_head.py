"""single head: join the feature branches of migrations into one line

Revision ID: 0008
Revises: 0004, 0005, 0006, 0007
Create Date: 2026-12-04

Until this revision each feature kept its own branch of migrations, all growing from the initial
schema so that features built side by side never had to agree on an order:

- 0001 the initial schema (users, areas, indicators, postcodes, assets, taxonomy, imports);
- 0003 finder (distance and trigram indexes), then 0007 on it (each asset's GeoJSON Feature);
- 0004 moderation (change requests, reminders, append-only revisions);
- 0005 gaps (gap runs, scores, supply, LSOA points and tile shapes);
- 0006 ORUK (Open Referral UK identifiers, taxonomies, bulk uploads).

So the history had four heads, and ``assetmap db upgrade`` had to migrate to all of them
("heads"). There is no 0002: no revision with that number was ever written; the numbers are labels,
and Alembic orders revisions by ``down_revision`` alone. Renumbering or relinking the old
revisions is not an option, because databases already deployed record those four heads in
``alembic_version``.

This revision changes no schema. It merges the four heads, so that from here on there is one head:
a new migration revises the newest one (``down_revision`` is a single revision), and ``db upgrade``
migrates to "head". A second head now makes that upgrade fail loudly rather than pass unseen.
"""

revision = "0008"
down_revision = ("0004", "0005", "0006", "0007")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
