"""Reference data every database needs: the vocabularies and the registry of data sources.
Idempotent: run by ``assetmap init`` after the migrations."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from assetmap.config import PROJECT_DIR
from assetmap.db.models import Dataset, TaxonomyTerm

DATA = PROJECT_DIR / "data"


def seed_taxonomy(session: Session) -> int:
    spec = json.loads((DATA / "taxonomy.json").read_text())
    n = 0
    for vocabulary, vocab in spec["vocabularies"].items():
        for order, term in enumerate(vocab["terms"]):
            existing = session.scalar(
                select(TaxonomyTerm).where(TaxonomyTerm.vocabulary == vocabulary, TaxonomyTerm.slug == term["slug"])
            )
            if existing is None:
                existing = TaxonomyTerm(vocabulary=vocabulary, slug=term["slug"], catchment_m=term.get("catchment_m"))
                session.add(existing)
                n += 1
            existing.label = term["label"]
            existing.description = term.get("description")
            existing.sort_order = order
            if existing.catchment_m is None:  # planners' edits to catchments are kept
                existing.catchment_m = term.get("catchment_m")
    session.flush()
    return n


def seed_datasets(session: Session) -> int:
    spec = json.loads((DATA / "datasets.json").read_text())["datasets"]
    n = 0
    for key, info in spec.items():
        row = session.scalar(select(Dataset).where(Dataset.key == key))
        if row is None:
            row = Dataset(key=key)
            session.add(row)
            n += 1
        row.title, row.publisher = info["title"], info.get("publisher")
        row.licence, row.attribution = info.get("licence"), info.get("attribution")
    session.flush()
    return n


def record_import(session: Session, dataset_key: str, report, file_name: str | None = None) -> None:
    """Note that ``dataset_key`` was imported now, with its report (for "last updated" on maps)."""
    session.execute(
        text(
            "UPDATE dataset SET last_imported_at = :now, last_report = CAST(:report AS jsonb), "
            "file_name = COALESCE(:file, file_name) WHERE key = :key"
        ),
        {"now": datetime.now(UTC), "report": json.dumps(report.to_dict()), "file": file_name, "key": dataset_key},
    )


def term_ids(session: Session, vocabulary: str) -> dict[str, int]:
    """slug → id for a vocabulary."""
    rows = session.execute(
        select(TaxonomyTerm.slug, TaxonomyTerm.id).where(TaxonomyTerm.vocabulary == vocabulary)
    ).all()
    return dict(rows)
