"""Run one importer in one transaction, keep its report, and skip files already imported."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from assetmap.db.engine import session_scope
from assetmap.db.gap_refresh import refresh_after_commit
from assetmap.db.models import ImportRun
from assetmap.db.seed import record_import
from assetmap.errors import ImportFileError


def file_signature(path: Path, kind: str, options: str = "") -> str:
    """Name, size and modification time of the file, with the importer and its options."""
    st = path.stat()
    raw = f"{kind}|{path.resolve()}|{st.st_size}|{int(st.st_mtime)}|{options}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def run_import(url: str, kind: str, dataset_key: str | None, path: Path, fn, force: bool = True, options: str = ""):
    """Call ``fn(session, path)`` inside one transaction and record an ``import_run``.

    With ``force=False`` a file whose signature was already imported successfully is skipped and
    None is returned. Either the whole import lands or none of it does. When the import wrote
    assets (its report carries their change set), the stored gap runs they affect are brought up
    to date once it is committed (:func:`assetmap.db.gap_refresh.refresh_after_commit`)."""
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"file not found: {path}")
    signature = file_signature(path, kind, options)
    with session_scope(url) as session:
        if not force:
            done = session.scalar(select(ImportRun.id).where(ImportRun.signature == signature,
                                                             ImportRun.finished_at.is_not(None)).limit(1))
            if done:
                return None
        run = ImportRun(kind=kind, dataset_key=dataset_key, file_name=path.name, signature=signature)
        session.add(run)
        report = fn(session, path)
        run.report = report.to_dict()
        run.finished_at = datetime.now(UTC)
        if dataset_key:
            record_import(session, dataset_key, report, path.name)
    if report.changes:
        with session_scope(url) as session:
            refresh_after_commit(session, report.changes)
    return report
