"""The one way an asset is written: created, updated, archived, restored, or upserted from an import.

Every writer of ``asset`` rows goes through this module (the command-line importers, the upload
commit, the Open Referral UK import, moderation and restore), so that:

- each change writes its ``revision`` row in the caller's transaction, with one snapshot shape
  whoever wrote it (:data:`assetmap.domain.revisions.SNAPSHOT_KEYS`, built by :func:`snapshot_sql`);
- each returns an :class:`AssetChanges`, which the caller passes, after committing, to
  :func:`assetmap.db.gap_refresh.refresh_gap_runs` so the stored gap analyses count the change;
- an imported asset's UUID derives from its source and source id
  (:func:`assetmap.domain.identities.imported_asset_uuid`): rebuilding the database from the
  same files gives the same ids. Assets people add keep random UUIDs.

Single assets are written through the ORM, whose version counter refuses a write when another
transaction changed the asset in between (:class:`~assetmap.errors.ConflictError`). Imports are
written set-based (:func:`upsert_from_import`): a temporary table, then a handful of statements,
whatever the number of rows. Nothing here commits.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from assetmap.db.bulk import copy_into_temp
from assetmap.db.models import Asset, AssetStatus, Revision, TaxonomyTerm
from assetmap.db.oruk_queries import derived_id_sql
from assetmap.domain.identities import imported_asset_uuid, organisation_uuid
from assetmap.domain.revisions import EDITABLE_FIELDS, SNAPSHOT_KEYS, diff, normalise, restorable_values
from assetmap.errors import BadInputError, ConflictError, NotFoundError

__all__ = [
    "CHANGED_SINCE_OPENED",
    "IMPORT_FIELDS",
    "AssetChanges",
    "ImportOutcome",
    "ImportRow",
    "archive_asset",
    "create_asset",
    "load_asset",
    "oruk_assets",
    "postcode_points",
    "restore_asset",
    "snapshot_sql",
    "snapshots",
    "update_asset",
    "upsert_from_import",
]

CHANGED_SINCE_OPENED = (
    "It was changed since you opened it, by someone else. Nothing you entered was saved: "
    "open it again to see the latest version, then make your change again."
)

#: What a change set records of each changed asset: the things the gap analysis counts.
GAP_ASPECTS = ("position", "capacity", "status", "categories")


@dataclass(frozen=True)
class AssetChanges:
    """What a write changed.

    ``inserted``, ``updated`` and ``archived`` are asset ids (an asset archived by the write is in
    ``archived``, not ``updated``); ``aspects`` maps each of them to the :data:`GAP_ASPECTS`
    that changed (a new asset: all it has).

    Examples
    --------
    >>> a = AssetChanges(inserted=(7,), aspects={7: frozenset({"position", "status", "categories"})})
    >>> b = AssetChanges(updated=(3, 9), aspects={3: frozenset(), 9: frozenset({"position"})})
    >>> (a | b).gap_relevant, len(a | b)
    ((7, 9), 3)
    """

    inserted: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()
    archived: tuple[int, ...] = ()
    aspects: Mapping[int, frozenset[str]] = field(default_factory=dict)

    @property
    def gap_relevant(self) -> tuple[int, ...]:
        """Assets whose change may move a gap analysis: new, archived, or with a changed aspect."""
        ids = set(self.inserted) | set(self.archived) | {i for i, changed in self.aspects.items() if changed}
        return tuple(sorted(ids))

    def __or__(self, other: AssetChanges) -> AssetChanges:
        aspects = dict(self.aspects)
        for asset_id, changed in other.aspects.items():
            aspects[asset_id] = aspects.get(asset_id, frozenset()) | changed
        return AssetChanges(self.inserted + other.inserted, self.updated + other.updated,
                            self.archived + other.archived, aspects)

    def __len__(self) -> int:
        return len(self.inserted) + len(self.updated) + len(self.archived)


NOTHING = AssetChanges()


def _aspects(changes: Mapping[str, Any], capacity_changed: bool = False) -> frozenset[str]:
    names = {"location": "position", "status": "status", "asset_types": "categories"}
    found = {aspect for key, aspect in names.items() if key in changes}
    return frozenset(found | ({"capacity"} if capacity_changed else set()))


# --- the snapshot, one shape for every writer -----------------------------------------------------
_VOCABULARIES = {"asset_types": "asset-type", "five_ways": "five-ways"}
_ARRAY_FIELDS = ("access_modes", "age_groups", "accessibility")
_PLAIN_FIELDS = ("is_free", "accepting_referrals", "service_area_id", "version")


def _snapshot_value(key: str, a: str) -> str:
    if key in _VOCABULARIES:
        return (f"(SELECT COALESCE(jsonb_agg(t.slug ORDER BY t.slug), '[]'::jsonb) FROM asset_term x "
                f"JOIN taxonomy_term t ON t.id = x.term_id AND t.vocabulary = '{_VOCABULARIES[key]}' "
                f"WHERE x.asset_id = {a}.id)")
    if key == "location":
        return (f"CASE WHEN {a}.location IS NULL THEN NULL ELSE jsonb_build_array("
                f"round(ST_X({a}.location)::numeric, 6), round(ST_Y({a}.location)::numeric, 6)) END")
    if key in _ARRAY_FIELDS:
        return (f"(SELECT COALESCE(jsonb_agg(DISTINCT v ORDER BY v), '[]'::jsonb) FROM unnest({a}.{key}) v "
                f"WHERE v <> '')")
    if key == "opening_hours":
        return f"NULLIF({a}.opening_hours, '{{}}'::jsonb)"
    if key in _PLAIN_FIELDS:
        return f"to_jsonb({a}.{key})"
    if key in ("status", "uuid"):
        return f"to_jsonb({a}.{key}::text)"
    return f"to_jsonb(NULLIF(btrim({a}.{key}), ''))"


def snapshot_sql(alias: str = "a") -> str:
    """SQL for the revision snapshot of the asset row ``alias``: a JSON object with the keys of
    :data:`~assetmap.domain.revisions.SNAPSHOT_KEYS` in the normal form of
    :mod:`assetmap.domain.revisions` (location ``[lon, lat]`` to 6 decimals, slugs sorted)."""
    return "jsonb_build_object(" + ", ".join(f"'{k}', {_snapshot_value(k, alias)}" for k in SNAPSHOT_KEYS) + ")"


def snapshots(session: Session, asset_ids: Iterable[int]) -> dict[int, dict]:
    """The snapshot of each asset (as a revision would keep it now), by id."""
    ids = sorted(set(asset_ids))
    if not ids:
        return {}
    rows = session.execute(text(f"SELECT a.id, {snapshot_sql('a')} FROM asset a WHERE a.id = ANY(:ids)"),
                           {"ids": ids}).all()
    return dict(rows)


def _state(session: Session, asset_id: int) -> tuple[dict, float | None]:
    row = session.execute(text(f"SELECT {snapshot_sql('a')}, a.capacity FROM asset a WHERE a.id = :id"),
                          {"id": asset_id}).first()
    if row is None:
        raise NotFoundError(f"no place or group with id {asset_id}")
    return row[0], row[1]


# --- one asset at a time (people, and the Open Referral UK import) ------------------------------
_SCALAR_FIELDS = tuple(f for f in EDITABLE_FIELDS if f not in ("location", *_VOCABULARIES))


def _terms(session: Session, values: Mapping) -> dict[str, list[TaxonomyTerm]]:
    """The taxonomy terms ``values`` choose, by vocabulary (only the vocabularies it mentions)."""
    wanted = {key: values[key] for key in _VOCABULARIES if key in values}
    if not wanted:
        return {}
    slugs = sorted({s for v in wanted.values() for s in v or ()})
    found = session.scalars(select(TaxonomyTerm).where(
        TaxonomyTerm.vocabulary.in_([_VOCABULARIES[k] for k in wanted]), TaxonomyTerm.slug.in_(slugs)
    ).order_by(TaxonomyTerm.id)).all()
    by_key = {(t.vocabulary, t.slug): t for t in found}
    out = {}
    for key, chosen in wanted.items():
        missing = [s for s in chosen or () if (_VOCABULARIES[key], s) not in by_key]
        if missing:
            raise BadInputError(f"unknown {_VOCABULARIES[key]} term {', '.join(missing)}")
        out[_VOCABULARIES[key]] = [by_key[(_VOCABULARIES[key], s)] for s in chosen or ()]
    return out


def _apply(session: Session, asset: Asset, values: Mapping, before: Mapping | None,
           terms: Sequence[TaxonomyTerm] | None = None) -> None:
    """Write the editable ``values`` (missing keys untouched) onto ``asset``; a value equal (in
    normal form) to the one ``before`` holds is not written again."""
    # Read first, write after: a query after a write would flush it early (and bump the version twice).
    with session.no_autoflush:
        new_terms = _terms(session, values) if terms is None else {}
        current_terms = list(asset.terms) if (new_terms or terms is not None) else []

    def same(key: str) -> bool:
        return before is not None and normalise(key, before.get(key)) == normalise(key, values[key])

    for key in _SCALAR_FIELDS:
        if key in values and not same(key):
            value = values[key]
            setattr(asset, key, list(value) if isinstance(value, (list, tuple)) else value)
    if "location" in values and not same("location"):
        location = normalise("location", values["location"])
        asset.location = None if location is None else f"SRID=4326;POINT({location[0]} {location[1]})"
    if terms is not None:
        if set(current_terms) != set(terms):
            asset.terms = list(terms)
    elif new_terms:
        kept = [t for t in current_terms if t.vocabulary not in new_terms]
        wanted = kept + [t for chosen in new_terms.values() for t in chosen]
        if set(wanted) != set(current_terms):
            asset.terms = wanted


def flush_or_conflict(session: Session) -> None:
    """Flush, turning a lost optimistic-locking race into a ConflictError (the form was stale)."""
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise ConflictError(CHANGED_SINCE_OPENED) from None


def load_asset(session: Session, asset_id: int, expected_version: int | None = None) -> Asset:
    """The asset, checked against the version the person saw.

    Raises
    ------
    NotFoundError
        No asset with that id.
    ConflictError
        ``expected_version`` is given and the asset has another.
    """
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFoundError(f"no place or group with id {asset_id}")
    if expected_version is not None and asset.version != expected_version:
        raise ConflictError(CHANGED_SINCE_OPENED, details={"asset_id": asset_id})
    return asset


def _revise(session: Session, asset: Asset, before: dict | None, capacity_before: float | None, action: str,
            user_id: int | None, reason: str | None, *, always: bool = True) -> AssetChanges:
    """Flush the change to ``asset`` and append its revision; what changed, as a change set.

    ``always=False``: no revision (and an empty change set) when nothing a snapshot records changed.
    """
    flush_or_conflict(session)
    after, capacity = _state(session, asset.id)
    changes = diff(before, after)
    if not always and before is not None and not changes:
        return NOTHING
    session.add(Revision(asset_id=asset.id, user_id=user_id, action=action, changes=changes, snapshot=after,
                         reason=reason, status_after=after["status"]))
    flush_or_conflict(session)
    aspects = {asset.id: _aspects(changes, before is not None and capacity != capacity_before)}
    if before is None:
        return AssetChanges(inserted=(asset.id,), aspects=aspects)
    if "status" in changes and after["status"] == AssetStatus.archived.value:
        return AssetChanges(archived=(asset.id,), aspects=aspects)
    return AssetChanges(updated=(asset.id,), aspects=aspects)


def _set_columns(asset: Asset, columns: Mapping[str, Any]) -> None:
    for key, value in columns.items():
        if getattr(asset, key) != value:
            setattr(asset, key, value)


def create_asset(session: Session, values: Mapping[str, Any], *, status: AssetStatus = AssetStatus.pending,
                 source: str = "web", source_id: str | None = None, uuid=None, user_id: int | None = None,
                 submitter_email: str | None = None, action: str = "create", reason: str | None = None,
                 terms: Sequence[TaxonomyTerm] | None = None, columns: Mapping[str, Any] | None = None) -> AssetChanges:
    """Insert one asset with its first revision.

    Parameters
    ----------
    values : editable fields in snapshot normal form (:data:`~assetmap.domain.revisions.EDITABLE_FIELDS`)
    status, source, source_id : as stored; ``source="web"`` for what people add
    uuid : the asset's UUID; default derived from ``source`` and ``source_id`` when the asset
        comes from a source with ids, else random
    user_id, submitter_email : who added it
    action, reason : what the revision says
    terms : every taxonomy term of the asset (replaces ``asset_types`` and ``five_ways``)
    columns : other columns to set (``organisation``, ``extra``, ``last_verified_at``, ...)

    Returns
    -------
    AssetChanges
        With the new id in ``inserted``.
    """
    if uuid is None and source_id is not None and source != "web":
        uuid = imported_asset_uuid(source, source_id)
    asset = Asset(status=status, source=source, source_id=source_id, submitter_email=submitter_email,
                  created_by_id=user_id, access_modes=[], age_groups=[], accessibility=[], terms=[])
    if uuid is not None:
        asset.uuid = uuid
    _apply(session, asset, values, None, terms)
    _set_columns(asset, columns or {})
    session.add(asset)
    flush_or_conflict(session)
    return _revise(session, asset, None, None, action, user_id, reason)


def update_asset(session: Session, asset_id: int, values: Mapping[str, Any] | None = None, *,
                 expected_version: int | None = None, user_id: int | None = None, action: str = "update",
                 reason: str | None = None, status: AssetStatus | None = None, reviewed_by: int | None = None,
                 verified: bool = False, terms: Sequence[TaxonomyTerm] | None = None,
                 columns: Mapping[str, Any] | None = None, only_if_changed: bool = False) -> AssetChanges:
    """Change one asset and append its revision.

    Parameters
    ----------
    values : editable fields to write (snapshot normal form); missing ones are left alone
    expected_version : the version the person saw (a conflict when it moved on)
    status : the new status, if it changes
    reviewed_by : a moderator who reviewed it now; ``verified``: it counts as checked today
    terms, columns : as for :func:`create_asset`
    only_if_changed : an import's update: nothing is written (no revision, no new version) when
        nothing changed; otherwise (a person's save) the version goes up and a revision is kept
        even for a change of categories alone or of nothing

    Raises
    ------
    NotFoundError, ConflictError
        As :func:`load_asset`.
    """
    asset = load_asset(session, asset_id, expected_version)
    before, capacity = _state(session, asset_id)
    _apply(session, asset, values or {}, before, terms)
    _set_columns(asset, columns or {})
    if status is not None and asset.status != status:
        asset.status = status
    if reviewed_by is not None:
        asset.reviewed_by_id, asset.reviewed_at = reviewed_by, func.now()
    if verified:
        asset.last_verified_at = func.now()
    if only_if_changed:
        if not session.is_modified(asset) and not inspect(asset).attrs.terms.history.has_changes():
            return NOTHING
    # Always an UPDATE of the row (a change of categories alone touches only asset_term), so the
    # version goes up and a concurrent writer is refused.
    asset.updated_at = func.now()
    return _revise(session, asset, before, capacity, action, user_id, reason, always=not only_if_changed)


def archive_asset(session: Session, asset_id: int, *, expected_version: int | None, user_id: int | None,
                  reason: str) -> AssetChanges:
    """Take an asset off the map, keeping it and its history ("deleting" from the web does this).

    Raises
    ------
    BadInputError
        No reason given.
    ConflictError
        It is already archived, or changed since ``expected_version``.
    """
    if not reason:
        raise BadInputError("give a reason for archiving it")
    asset = load_asset(session, asset_id, expected_version)
    if asset.status == AssetStatus.archived:
        raise ConflictError("it is already archived")
    return update_asset(session, asset_id, status=AssetStatus.archived, user_id=user_id, action="archive",
                        reason=reason)


def restore_asset(session: Session, asset_id: int, revision_id: int, *, expected_version: int | None,
                  user_id: int | None, reason: str | None = None) -> AssetChanges:
    """Bring back the fields an old revision recorded (and its status when published or
    archived), as a new revision; the old ones stay as they are."""
    revision = session.get(Revision, revision_id)
    if revision is None or revision.asset_id != asset_id:
        raise NotFoundError(f"no revision {revision_id} of place {asset_id}")
    values, status = restorable_values(revision.snapshot or {})
    why = f"restored revision {revision_id}" + (f": {reason}" if reason else "")
    return update_asset(session, asset_id, values, expected_version=expected_version, user_id=user_id,
                        action="restore", reason=why, status=None if status is None else AssetStatus(status))


# --- what an import looks up ---------------------------------------------------------------------
def oruk_assets(session: Session, sal_ids: Sequence[UUID], service_ids: Sequence[UUID],
                source: str = "oruk") -> tuple[dict, dict]:
    """For an Open Referral UK import: the assets already holding these service_at_location ids
    (stored, or derived from the asset's own id when it was published here), and assets of
    services imported without a location, by service id."""
    by_sal: dict[UUID, int] = {}
    if sal_ids:
        rows = session.execute(text(
            f"""
            SELECT l.uuid AS sal_id, l.asset_id FROM oruk_service_at_location l WHERE l.uuid = ANY(:ids)
            UNION ALL
            SELECT {derived_id_sql('service_at_location', 'a.uuid')}, a.id FROM asset a
            WHERE NOT EXISTS (SELECT 1 FROM oruk_service_at_location x WHERE x.asset_id = a.id)
              AND {derived_id_sql('service_at_location', 'a.uuid')} = ANY(:ids)
            UNION ALL
            SELECT CAST(a.source_id AS uuid), a.id FROM asset a
            WHERE a.source = :source AND a.source_id = ANY(CAST(:texts AS text[]))
            """
        ), {"ids": sal_ids, "texts": [str(i) for i in sal_ids], "source": source}).all()
        for sal_id, asset_id in rows:
            by_sal.setdefault(sal_id, asset_id)
    by_service: dict[UUID, int] = {}
    if service_ids:
        rows = session.execute(text(
            """
            SELECT a.uuid, a.id FROM asset a WHERE a.uuid = ANY(:ids) AND a.location IS NULL
              AND NOT EXISTS (SELECT 1 FROM oruk_service_at_location x WHERE x.asset_id = a.id)
            UNION ALL
            SELECT CAST(substr(a.source_id, 9) AS uuid), a.id FROM asset a
            WHERE a.source = :source AND a.source_id = ANY(CAST(:texts AS text[]))
            """
        ), {"ids": service_ids, "texts": [f"service/{i}" for i in service_ids], "source": source}).all()
        for service_id, asset_id in rows:
            by_service.setdefault(service_id, asset_id)
    return by_sal, by_service


def postcode_points(session: Session, postcodes: Iterable[str]) -> dict[str, tuple[float, float]]:
    """The Code-Point Open position (lon, lat) of each of ``postcodes`` (normalised) known here."""
    postcodes = set(postcodes)
    if not postcodes:
        return {}
    rows = session.execute(text(
        "SELECT postcode, ST_X(location), ST_Y(location) FROM postcode WHERE postcode = ANY(:pcs)"
    ), {"pcs": sorted(postcodes)}).all()
    return {pc: (x, y) for pc, x, y in rows}


# --- imports, set-based ----------------------------------------------------------------------------
#: The asset columns an import may write (each caller names those its file gives).
IMPORT_FIELDS = ("name", "description", "organisation_id", "location", "address", "town", "postcode", "phone",
                 "email", "url", "opening_hours", "opening_hours_note", "cost", "extra")


class ImportRow(NamedTuple):
    """One row of an import, as read and checked by its importer.

    ``category`` is an asset-type slug; ``lon``/``lat`` (WGS84) place it, else ``postcode``
    (normalised; ``postcode_raw`` and ``postcode_column`` say what the file held, for the report);
    ``opening_hours`` and ``extra`` are JSON text.
    """

    line: int
    source_id: str
    name: str
    category: str
    lon: float | None = None
    lat: float | None = None
    postcode: str | None = None
    postcode_raw: str | None = None
    postcode_column: str | None = None
    description: str | None = None
    org_name: str | None = None
    org_key: str | None = None  # the source's identifier of the organisation (ODS code, charity number)
    address: str | None = None
    town: str | None = None
    phone: str | None = None
    email: str | None = None
    url: str | None = None
    opening_hours: str | None = None
    opening_hours_note: str | None = None
    cost: str | None = None
    extra: str | None = None


_ROW_TYPES = {"line": "int", "lon": "float8", "lat": "float8", "opening_hours": "jsonb", "extra": "jsonb"}
_IN_COLUMNS = [(name, _ROW_TYPES.get(name, "text")) for name in ImportRow._fields] + [("uuid", "uuid")]


@dataclass(frozen=True)
class ImportOutcome:
    """What an import wrote: the change set and its counts, and the rows that could not be
    placed (``(line, column, value)``: no coordinates and a postcode not known here)."""

    changes: AssetChanges
    inserted: int
    updated: int
    unchanged: int
    unlocated: list[tuple[int, str | None, str | None]]


def _temp_table(session: Session, name: str, select_sql: str, params: dict | None = None) -> None:
    session.execute(text(f"DROP TABLE IF EXISTS {name}"))
    session.execute(text(f"CREATE TEMP TABLE {name} ON COMMIT DROP AS {select_sql}"), params or {})


def _as_json(column: str, alias: str) -> str:
    """A column as revision JSON (location as ``[lon, lat]`` to 6 decimal places)."""
    if column == "location":
        return (f"CASE WHEN {alias}.location IS NULL THEN NULL ELSE jsonb_build_array("
                f"round(ST_X({alias}.location)::numeric, 6), round(ST_Y({alias}.location)::numeric, 6)) END")
    return f"to_jsonb({alias}.{column})"


_TYPES_OF = """(SELECT COALESCE(jsonb_agg(t.slug ORDER BY t.slug), '[]'::jsonb) FROM asset_term x
                JOIN taxonomy_term t ON t.id = x.term_id AND t.vocabulary = 'asset-type' WHERE x.asset_id = a.id)"""


def upsert_from_import(session: Session, rows: Iterable[ImportRow], *, source: str, fields: Sequence[str],
                       publish: bool, reason: str, user_id: int | None = None,
                       organisations_ignore_case: bool = False, replace_categories: bool = False,
                       pending_when_changed: bool = False) -> ImportOutcome:
    """Insert or update the assets of an import by ``(source, source_id)``, with their revisions.

    Parameters
    ----------
    rows : the rows, each a distinct ``source_id``
    source : the assets' source (``libraries``, ``upload``, ...)
    fields : the columns of :data:`IMPORT_FIELDS` the file gives: written, and compared on
        re-import (others, which moderators fill in, are left alone). Without ``extra`` among
        them, a row's ``extra`` is merged into the asset's.
    publish : new assets are published, or wait for moderation
    reason, user_id : what the revisions say, and who imported (also the new assets' creator)
    organisations_ignore_case : organisations are matched by name ignoring case (else exactly)
    replace_categories : the row's category replaces the asset's asset types (else it is added)
    pending_when_changed : a changed asset goes back to moderation (else it keeps its status)

    A row placed by postcode whose postcode is the asset's already keeps the asset's position (a
    moderator may have put the pin on the building). New assets get UUIDs derived from
    ``(source, source_id)``. Re-importing the same rows changes nothing.
    """
    unknown = set(fields) - set(IMPORT_FIELDS)
    if unknown:
        raise BadInputError(f"an import cannot write {', '.join(sorted(unknown))}")
    fields = [f for f in IMPORT_FIELDS if f in fields]
    params = {"source": source, "reason": reason, "user_id": user_id,
              "status": "published" if publish else "pending"}
    session.flush()  # the ORM's pending changes first: the rest is SQL on the same transaction
    copy_into_temp(session, "tmp_asset_in", _IN_COLUMNS,
                   ((*row, imported_asset_uuid(source, row.source_id)) for row in rows))
    session.execute(text("ANALYZE tmp_asset_in"))
    _temp_table(session, "tmp_asset_located", """
        SELECT i.*, CASE WHEN i.lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)
                         ELSE p.location END AS location
        FROM tmp_asset_in i LEFT JOIN postcode p ON i.lon IS NULL AND p.postcode = i.postcode
    """)
    unlocated = [tuple(r) for r in session.execute(text(
        "SELECT line, postcode_column, postcode_raw FROM tmp_asset_located WHERE location IS NULL ORDER BY line"
    )).all()]

    # An organisation is keyed by the source's identifier for it where the row gives one (two GP
    # practices both called "The Surgery" stay two), else by its name.
    org_key = "COALESCE(l.org_key, " + ("lower(l.org_name))" if organisations_ignore_case else "l.org_name)")
    if "organisation_id" in fields:
        # The organisations the placed rows name and that are not here yet.
        missing = session.execute(text(
            f"""
            SELECT {org_key} AS key, min(l.org_name) AS name FROM tmp_asset_located l
            WHERE l.org_name IS NOT NULL AND l.location IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM organisation o WHERE o.source = :source AND o.source_id = {org_key})
            GROUP BY 1 ORDER BY 1
            """
        ), params).all()
        if missing:
            session.execute(text(
                """
                INSERT INTO organisation (uuid, name, source, source_id)
                SELECT u, n, :source, k
                FROM unnest(CAST(:keys AS text[]), CAST(:names AS text[]), CAST(:uuids AS uuid[])) AS o(k, n, u)
                ON CONFLICT (source, source_id) DO NOTHING
                """
            ), {"source": source, "keys": [k for k, _ in missing], "names": [n for _, n in missing],
                "uuids": [organisation_uuid(source, k) for k, _ in missing]})

    # The new values of each placed row, with the asset it updates (if any).
    _temp_table(session, "tmp_asset_new", f"""
        SELECT l.line, l.source_id, l.uuid, l.name, l.description, o.id AS organisation_id,
               CASE WHEN l.lon IS NULL AND a.location IS NOT NULL AND a.postcode IS NOT DISTINCT FROM l.postcode
                    THEN a.location ELSE l.location END AS location,
               l.address, l.town, l.postcode, l.phone, l.email, l.url, l.opening_hours, l.opening_hours_note,
               l.cost, l.extra, t.id AS term_id, l.category, a.id AS asset_id, a.id IS NULL AS is_new
        FROM tmp_asset_located l
        LEFT JOIN organisation o ON o.source = :source AND o.source_id = {org_key}
        LEFT JOIN asset a ON a.source = :source AND a.source_id = l.source_id
        LEFT JOIN taxonomy_term t ON t.vocabulary = 'asset-type' AND t.slug = l.category
        WHERE l.location IS NOT NULL
    """, params)
    if session.execute(text("SELECT EXISTS (SELECT 1 FROM tmp_asset_new WHERE term_id IS NULL)")).scalar():
        raise BadInputError("an imported row names an unknown asset type")

    # What changed in assets already there: {field: [old, new]}, and their asset types.
    compared = " || ".join(
        f"CASE WHEN a.{f} IS DISTINCT FROM n.{f} THEN jsonb_build_object('{f}', "
        f"jsonb_build_array({_as_json(f, 'a')}, {_as_json(f, 'n')})) ELSE '{{}}'::jsonb END"
        for f in fields
    ) or "'{}'::jsonb"
    if replace_categories:
        types_after = "jsonb_build_array(n.category)"
        types_same = f"{_TYPES_OF} = jsonb_build_array(n.category)"
    else:
        types_after = """(SELECT jsonb_agg(u.slug ORDER BY u.slug) FROM (
                             SELECT t.slug FROM asset_term x JOIN taxonomy_term t
                             ON t.id = x.term_id AND t.vocabulary = 'asset-type' WHERE x.asset_id = a.id
                             UNION SELECT n.category) u)"""
        types_same = "EXISTS (SELECT 1 FROM asset_term x WHERE x.asset_id = a.id AND x.term_id = n.term_id)"
    _temp_table(session, "tmp_asset_diff", f"""
        SELECT asset_id, changes FROM (
            SELECT n.asset_id, {compared}
                   || CASE WHEN {types_same} THEN '{{}}'::jsonb
                           ELSE jsonb_build_object('asset_types', jsonb_build_array({_TYPES_OF}, {types_after})) END
                   AS changes
            FROM tmp_asset_new n JOIN asset a ON a.id = n.asset_id
        ) d WHERE changes <> '{{}}'::jsonb
    """)
    if pending_when_changed:
        session.execute(text(
            """
            UPDATE tmp_asset_diff d SET changes = d.changes || jsonb_build_object('status', jsonb_build_array(
                a.status::text, 'pending')) FROM asset a WHERE a.id = d.asset_id AND a.status <> 'pending'
            """
        ))

    sets = ", ".join(f"{f} = n.{f}" for f in fields)
    if "extra" not in fields:
        sets += ", extra = COALESCE(a.extra, '{}'::jsonb) || n.extra"
    if pending_when_changed:
        sets += ", status = 'pending'"
    updated = session.execute(text(
        f"""
        UPDATE asset a SET {sets}, version = a.version + 1, updated_at = now()
        FROM tmp_asset_new n JOIN tmp_asset_diff d ON d.asset_id = n.asset_id
        WHERE a.id = n.asset_id
        """
    )).rowcount

    written = [f for f in fields if f != "extra"] + ["extra"]
    inserted = session.execute(text(
        f"""
        INSERT INTO asset (uuid, {", ".join(written)}, status, source, source_id, access_modes, age_groups,
                           accessibility, created_by_id, version, created_at, updated_at)
        SELECT n.uuid, {", ".join(f"n.{f}" for f in written)}, CAST(:status AS asset_status), :source, n.source_id,
               '{{}}', '{{}}', '{{}}', :user_id, 1, now(), now()
        FROM tmp_asset_new n WHERE n.is_new ORDER BY n.line
        """
    ), params).rowcount
    session.execute(text(
        """
        UPDATE tmp_asset_new n SET asset_id = a.id FROM asset a
        WHERE n.is_new AND a.source = :source AND a.source_id = n.source_id
        """
    ), params)
    if replace_categories:
        session.execute(text(
            """
            DELETE FROM asset_term x USING tmp_asset_new n, tmp_asset_diff d, taxonomy_term t
            WHERE d.asset_id = n.asset_id AND x.asset_id = n.asset_id AND t.id = x.term_id
              AND t.vocabulary = 'asset-type' AND t.id <> n.term_id
            """
        ))
    session.execute(text(
        """
        INSERT INTO asset_term (asset_id, term_id)
        SELECT n.asset_id, n.term_id FROM tmp_asset_new n
        WHERE n.is_new OR n.asset_id IN (SELECT asset_id FROM tmp_asset_diff)
        ON CONFLICT DO NOTHING
        """
    ))
    # One revision per inserted or changed asset, in this transaction.
    session.execute(text(
        f"""
        INSERT INTO revision (asset_id, user_id, action, changes, snapshot, reason, status_after, created_at)
        SELECT a.id, :user_id, 'import', d.changes, {snapshot_sql('a')}, :reason, a.status::text, now()
        FROM tmp_asset_diff d JOIN asset a ON a.id = d.asset_id
        ORDER BY a.id
        """
    ), params)
    session.execute(text(
        f"""
        WITH s AS MATERIALIZED (
            SELECT a.id, a.status::text AS status, {snapshot_sql('a')} AS snapshot
            FROM tmp_asset_new n JOIN asset a ON a.id = n.asset_id WHERE n.is_new
        )
        INSERT INTO revision (asset_id, user_id, action, changes, snapshot, reason, status_after, created_at)
        SELECT s.id, :user_id, 'import',
               (SELECT COALESCE(jsonb_object_agg(k, jsonb_build_array(NULL, v)), '{{}}'::jsonb)
                FROM jsonb_each(s.snapshot) AS e(k, v)
                WHERE v <> 'null'::jsonb AND v <> '[]'::jsonb AND k NOT IN ('uuid', 'version', 'source', 'source_id')),
               s.snapshot, :reason, s.status, now()
        FROM s ORDER BY s.id
        """
    ), params)

    new_ids = tuple(session.execute(text(
        "SELECT asset_id FROM tmp_asset_new WHERE is_new ORDER BY asset_id")).scalars())
    aspects = {i: frozenset({"position", "status", "categories"}) for i in new_ids}
    changed = session.execute(text(
        "SELECT d.asset_id, ARRAY(SELECT jsonb_object_keys(d.changes)) FROM tmp_asset_diff d ORDER BY d.asset_id"
    )).all()
    for asset_id, keys in changed:
        aspects[asset_id] = _aspects(dict.fromkeys(keys))
    located = session.execute(text("SELECT count(*) FROM tmp_asset_new")).scalar_one()
    session.expire_all()  # Asset objects loaded before the import now see its changes
    changes = AssetChanges(inserted=new_ids, updated=tuple(asset_id for asset_id, _ in changed), aspects=aspects)
    return ImportOutcome(changes, inserted, updated, located - inserted - updated, unlocated)

