"""SQL for the bulk upload pages: the uploads kept, their first rows, the asset types a file may
name, what checking a file looks up, and the rule that claims an upload for committing once.

The upload's rows become assets through :func:`assetmap.db.assets.upsert_from_import`
(:func:`assetmap.importers.tabular.commit_upload`).
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

__all__ = [
    "asset_types",
    "claim_for_commit",
    "existing_source_ids",
    "first_rows",
    "mark_failed",
    "recent_uploads",
    "record_progress",
]

#: A commit whose worker stopped giving progress this long ago may be claimed again.
STALLED_AFTER = "15 minutes"


def recent_uploads(session: Session, user_id: int | None = None, limit: int = 20) -> list[dict]:
    """The latest uploads (of one user, or everyone's), newest first, without their rows."""
    rows = session.execute(text(
        """
        SELECT id, file_name, created_at, state, jsonb_array_length(rows) AS n_rows
        FROM bulk_upload WHERE CAST(:user_id AS int) IS NULL OR user_id = CAST(:user_id AS int)
        ORDER BY created_at DESC, id DESC LIMIT :limit
        """
    ), {"user_id": user_id, "limit": limit}).mappings()
    return [dict(r) for r in rows]


def first_rows(session: Session, upload_id: int, n: int = 10) -> tuple[int, list]:
    """How many rows an upload has, and its first ``n`` (without loading the rest)."""
    count, first = session.execute(text(
        "SELECT jsonb_array_length(rows), jsonb_path_query_array(rows, CAST(:path AS jsonpath)) "
        "FROM bulk_upload WHERE id = :id"
    ), {"id": upload_id, "path": f"$[0 to {max(n, 1) - 1}]"}).one()
    return count, first


def asset_types(session: Session) -> tuple[dict[str, str], list[dict]]:
    """Every way of writing an asset type (slug, label, any case) → slug; and the types
    (``slug``, ``label``), in order."""
    rows = session.execute(text(
        "SELECT slug, label FROM taxonomy_term WHERE vocabulary = 'asset-type' ORDER BY sort_order, slug"
    )).mappings().all()
    accepted: dict[str, str] = {}
    for r in rows:
        accepted[r["slug"].lower()] = r["slug"]
        accepted[r["label"].lower()] = r["slug"]
    return accepted, [dict(r) for r in rows]


def existing_source_ids(session: Session, source: str, source_ids: Iterable[str]) -> set[str]:
    """Those of ``source_ids`` that an asset of ``source`` already has."""
    wanted = sorted(set(source_ids))
    if not wanted:
        return set()
    return set(session.execute(text(
        "SELECT source_id FROM asset WHERE source = :source AND source_id = ANY(:ids)"
    ), {"source": source, "ids": wanted}).scalars())


def claim_for_commit(session: Session, upload_id: int) -> bool:
    """Mark the upload as being committed, once: False when it is already being committed (and
    still making progress) or has been. Commits, so that a second request sees the claim."""
    claimed = session.execute(text(
        f"""
        UPDATE bulk_upload SET state = 'committing', progress_done = 0, progress_total = jsonb_array_length(rows),
               updated_at = now()
        WHERE id = :id AND (state IN ('checked', 'failed')
                            OR (state = 'committing' AND updated_at < now() - interval '{STALLED_AFTER}'))
        RETURNING id
        """
    ), {"id": upload_id}).scalar()
    session.commit()
    return claimed is not None


def mark_failed(session: Session, upload_id: int, message: str) -> None:
    """Record why a commit failed (nothing of it was kept)."""
    session.execute(text("UPDATE bulk_upload SET state = 'failed', error = :e WHERE id = :id"),
                    {"e": message, "id": upload_id})


def record_progress(conn: Connection, upload_id: int, done: int, total: int) -> None:
    """How far a commit running in the background has got (on a connection of its own, so the
    page can read it while the commit's transaction is still open)."""
    conn.execute(text("UPDATE bulk_upload SET progress_done = :d, progress_total = :t, updated_at = now() "
                      "WHERE id = :id"), {"d": done, "t": total, "id": upload_id})
