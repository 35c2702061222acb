"""organisations named by imported files get ids derived from their source and key

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

``/oruk/organizations`` publishes each organisation's ``uuid``. Importers used to give organisations
named by a file a random one, so rebuilding the database from the same files changed every
organisation's id. An imported organisation's id is now the UUIDv5 of its source and key
(:func:`assetmap.domain.identities.organisation_uuid`); this rewrites the ids already stored the
same way, so an existing database and a rebuilt one agree. Organisations from an Open Referral
feed keep the feed's id, and those with no source (made by hand) keep theirs.

The derivation is written out here rather than imported: a migration must go on meaning what it
meant when it was written.
"""
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# assetmap.domain.oruk_common.NAMESPACE, the project's namespace of derived ids.
NAMESPACE = uuid.UUID("73122229-d505-4e9b-bd99-2fa936ae8276")
KEEPS_ITS_OWN_UUID = ("oruk",)


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, source, source_id FROM organisation "
        "WHERE source IS NOT NULL AND source_id IS NOT NULL AND source <> ALL(:kept)"
    ), {"kept": list(KEEPS_ITS_OWN_UUID)}).all()
    if not rows:
        return
    derived = [{"id": r.id, "uuid": uuid.uuid5(NAMESPACE, f"organisation:{r.source}:{r.source_id}")} for r in rows]
    # Two steps, so a derived id that happens to equal another row's old random id cannot collide.
    bind.execute(sa.text("UPDATE organisation SET uuid = gen_random_uuid() WHERE id = ANY(:ids)"),
                 {"ids": [d["id"] for d in derived]})
    bind.execute(sa.text("UPDATE organisation SET uuid = :uuid WHERE id = :id"), derived)


def downgrade() -> None:
    # The random ids are gone; the derived ones are as good as any.
    pass
