"""SQL for contributions and their review: submissions, change requests, problem reports, the
moderation queue, approving and rejecting, editing, archiving, restoring, verifying, stale assets
and reminder bookkeeping.

Every change to an asset goes through :mod:`assetmap.db.assets`, which writes its ``revision``
row in the caller's transaction and returns what changed (an
:class:`~assetmap.db.assets.AssetChanges`, for the gap refresh after the commit); nothing here
commits. An asset being changed is compared with the version the moderator saw
(``expected_version``), and SQLAlchemy's version counter on ``asset`` refuses the write as well
if another transaction got there in between: both raise :class:`~assetmap.errors.ConflictError`.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, true, update
from sqlalchemy.orm import Session

from assetmap.db import assets
from assetmap.db.assets import AssetChanges
from assetmap.db.models import Asset, AssetStatus, ChangeRequest, Organisation, Revision
from assetmap.domain.contribution import (
    ACCESS_MODES,
    ACCESSIBILITY,
    AGE_GROUPS,
    organisation_key,
)
from assetmap.domain.duplicates import is_likely_duplicate, name_similarity, place_words
from assetmap.domain.postcodes import normalise_postcode
from assetmap.domain.revisions import EDITABLE_FIELDS, diff, snapshot
from assetmap.domain.staleness import stale_before
from assetmap.domain.validation import clean_text, is_digits
from assetmap.errors import BadInputError, ConflictError, NotFoundError

_VOCABULARIES = {"asset_types": "asset-type", "five_ways": "five-ways"}

# The asset's editable fields and bookkeeping, as plain values.
_ASSET_SELECT = """
    SELECT a.id, a.uuid::text AS uuid, a.name, a.description, ST_X(a.location) AS lon, ST_Y(a.location) AS lat,
           a.postcode, a.address, a.town, a.service_area_id, sa.name AS service_area_name,
           sa.level AS service_area_level, a.phone, a.email, a.url,
           a.opening_hours, a.opening_hours_note, a.cost, a.is_free, a.access_modes, a.age_groups,
           a.eligibility_note, a.accessibility, a.accepting_referrals, a.status::text AS status, a.version,
           a.source, a.submitter_email, a.last_verified_at, a.created_at, a.updated_at, a.reviewed_at,
           a.organisation_id, (SELECT o.name FROM organisation o WHERE o.id = a.organisation_id) AS organisation_name,
           ARRAY(SELECT t.slug FROM asset_term x JOIN taxonomy_term t ON t.id = x.term_id
                 WHERE x.asset_id = a.id AND t.vocabulary = 'asset-type' ORDER BY t.slug) AS asset_types,
           ARRAY(SELECT t.slug FROM asset_term x JOIN taxonomy_term t ON t.id = x.term_id
                 WHERE x.asset_id = a.id AND t.vocabulary = 'five-ways' ORDER BY t.slug) AS five_ways
    FROM asset a LEFT JOIN area sa ON sa.id = a.service_area_id
"""


def _record(row) -> dict[str, Any]:
    """A row of :data:`_ASSET_SELECT` as the snapshot fields plus bookkeeping."""
    data = dict(row)
    data["location"] = None if data["lon"] is None else (data["lon"], data["lat"])
    record = snapshot(data)
    for key in ("id", "uuid", "source", "submitter_email", "last_verified_at", "created_at", "updated_at",
                "reviewed_at", "lon", "lat", "service_area_name", "service_area_level", "organisation_id",
                "organisation_name"):
        record[key] = data[key]
    return record


def get_asset(session: Session, asset_id: int) -> dict[str, Any]:
    """An asset's editable fields (snapshot normal form), status, version and bookkeeping.

    Raises
    ------
    NotFoundError
        No asset with that id.
    """
    row = session.execute(text(_ASSET_SELECT + " WHERE a.id = :id"), {"id": asset_id}).mappings().first()
    if row is None:
        raise NotFoundError(f"no place or group with id {asset_id}")
    return _record(row)


def get_public_asset(session: Session, asset_id: int) -> dict[str, Any]:
    """A published asset (anything else is 'not found' to the public)."""
    asset = get_asset(session, asset_id)
    if asset["status"] != "published":
        raise NotFoundError(f"no published place or group with id {asset_id}")
    return asset


def _assets(session: Session, ids: list[int]) -> dict[int, dict]:
    if not ids:
        return {}
    rows = session.execute(text(_ASSET_SELECT + " WHERE a.id = ANY(:ids) ORDER BY a.id"), {"ids": ids}).mappings()
    return {r["id"]: _record(r) for r in rows}


# --- what the forms offer ------------------------------------------------------------------
def term_choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """``{"asset_types": [(slug, label), ...], "five_ways": [...]}`` in the vocabularies' order."""
    rows = session.execute(text(
        "SELECT vocabulary, slug, label FROM taxonomy_term WHERE vocabulary IN ('asset-type', 'five-ways') "
        "ORDER BY vocabulary, sort_order, slug"
    )).all()
    by_vocabulary = {key: [] for key in _VOCABULARIES}
    names = {v: k for k, v in _VOCABULARIES.items()}
    for vocabulary, slug, label in rows:
        by_vocabulary[names[vocabulary]].append((slug, label))
    return by_vocabulary


def service_area_choices(session: Session, lad_codes: list[str], extra_ids: list[int] | None = None) -> list[dict]:
    """Areas an asset may serve: each local authority in ``lad_codes`` (as loaded) and its wards,
    plus the areas in ``extra_ids`` (an asset's current one), as
    ``[{"group": "Shropshire", "options": [(id, label), ...]}, ...]``."""
    rows = session.execute(text(
        """
        SELECT a.id, a.code, a.name, a.level, COALESCE(l.name, a.name) AS lad_name, COALESCE(l.code, a.code) AS lad
        FROM area a LEFT JOIN area l ON l.level = 'lad' AND l.code = a.lad_code AND a.level <> 'lad'
        WHERE (a.level = 'lad' AND a.code = ANY(:lads))
           OR (a.level IN ('ward', 'town') AND a.lad_code = ANY(:lads))
           OR a.id = ANY(:extra)
        ORDER BY lad_name, lad, a.level <> 'lad', a.name, a.id
        """
    ), {"lads": list(lad_codes), "extra": list(extra_ids or [])}).mappings()
    groups: dict[str, dict] = {}
    for r in rows:
        group = groups.setdefault(r["lad"], {"group": r["lad_name"], "options": []})
        label = f"The whole of {r['name']}" if r["level"] == "lad" else f"{r['name']} ({r['level']})"
        group["options"].append((r["id"], label))
    return list(groups.values())


def display_labels(session: Session, area_ids: list[int] | None = None) -> dict[str, dict]:
    """Labels for the list fields and areas, for showing differences and history."""
    terms = term_choices(session)
    areas = dict(session.execute(
        text("SELECT id, name FROM area WHERE id = ANY(:ids) ORDER BY id"), {"ids": list(area_ids or [])}
    ).all())
    return {
        "asset_types": dict(terms["asset_types"]),
        "five_ways": dict(terms["five_ways"]),
        "access_modes": ACCESS_MODES,
        "age_groups": AGE_GROUPS,
        "accessibility": ACCESSIBILITY,
        "service_area_id": areas,
    }


def postcode_point(session: Session, postcode: str) -> tuple[float, float] | None:
    """(lon, lat) of a normalised postcode from Code-Point Open, or None when it is not loaded."""
    row = session.execute(
        text("SELECT ST_X(location), ST_Y(location) FROM postcode WHERE postcode = :pc AND location IS NOT NULL"),
        {"pc": postcode},
    ).first()
    return (row[0], row[1]) if row else None


def is_inside_loaded_area(session: Session, lon: float, lat: float) -> bool:
    """Whether the point is in a loaded LSOA or local authority (the areas the service covers)."""
    return bool(session.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM area WHERE level IN ('lsoa', 'lad') AND geom IS NOT NULL "
            "AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)))"
        ),
        {"lon": lon, "lat": lat},
    ).scalar())


def loaded_bounds(session: Session, lad_codes: list[str]) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) around the loaded local authorities among ``lad_codes``."""
    row = session.execute(text(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(geom) AS e FROM area WHERE level = 'lad' AND code = ANY(:codes)) x"
    ), {"codes": list(lad_codes)}).first()
    return tuple(row) if row and row[0] is not None else None


def find_duplicates(session: Session, name: str, lon: float, lat: float, *, radius_m: float = 150,
                    exclude_asset_id: int | None = None, limit: int = 5,
                    include_pending: bool = False) -> list[dict]:
    """Published assets (and pending ones, for moderators: ``include_pending``) within ``radius_m``
    of the point that are likely the place ``name``. Anyone may ask, so by default nothing waiting
    for review is named: a submission is private until a moderator publishes it.

    The database finds the places nearby and the names of the ward, town and council around the
    point (generic words there); :func:`assetmap.domain.duplicates.is_likely_duplicate` weighs
    name and distance. Most similar first, then nearest.
    """
    name = clean_text(name) or ""  # as names are stored: no control characters (PostgreSQL refuses NUL)
    if len(name) < 3:
        return []
    point = {"lon": lon, "lat": lat}
    rows = session.execute(text(
        """
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt)
        SELECT a.id, a.name, a.address, a.postcode, a.town, a.status::text AS status,
               round(ST_Distance(a.location::geography, p.pt::geography))::int AS distance_m
        FROM asset a, p
        WHERE a.status::text = ANY(:statuses) AND a.location IS NOT NULL
          AND ST_DWithin(a.location, p.pt, :deg)  -- index-assisted box first, metres below
          AND ST_DWithin(a.location::geography, p.pt::geography, :radius)
          AND a.id IS DISTINCT FROM CAST(:exclude AS integer)
        """
    ), {**point, "radius": radius_m, "deg": radius_m / 50_000, "exclude": exclude_asset_id,
        "statuses": ["published", "pending"] if include_pending else ["published"]}).mappings().all()
    if not rows:
        return []
    areas_around = session.execute(text(
        "SELECT name FROM area WHERE level IN ('ward', 'lad', 'town') AND geom IS NOT NULL "
        "AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
    ), point).scalars().all()
    generic = place_words([*areas_around, *(row["town"] for row in rows)])
    found = []
    for row in rows:
        if is_likely_duplicate(name, row["name"], row["distance_m"], generic):
            similarity = round(name_similarity(name, row["name"], generic), 2)
            found.append({key: row[key] for key in ("id", "name", "address", "postcode", "status", "distance_m")}
                         | {"similarity": similarity})
    found.sort(key=lambda d: (-d["similarity"], d["distance_m"], d["id"]))
    return found[:limit]


# --- writing, through the one write path (assetmap.db.assets) ------------------------------------
def organisation_suggestions(session: Session, query: str, limit: int = 10) -> list[dict]:
    """Organisations whose name contains every word typed, for the "who runs it" field.

    The ones running most places first (the one people mean is usually the busiest)."""
    words = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
             for w in (clean_text(query) or "").split()[:6]]
    if not words or len(" ".join(words)) < 2:
        return []
    where = " AND ".join(f"o.name ILIKE :w{i}" for i in range(len(words)))
    rows = session.execute(text(
        f"""
        SELECT o.id, o.name, (SELECT count(*) FROM asset a WHERE a.organisation_id = o.id
                                AND a.status = 'published') AS places
        FROM organisation o WHERE {where}
        ORDER BY places DESC, o.name, o.id LIMIT :limit
        """
    ), {f"w{i}": f"%{w}%" for i, w in enumerate(words)} | {"limit": limit}).mappings()
    return [dict(r) for r in rows]


def organisation_for(session: Session, name: str | None) -> Organisation | None:
    """The organisation called ``name`` (ignoring case and spacing; the busiest when several),
    or a new one added from the website. None for no name."""
    name = " ".join((clean_text(name) or "").split())
    if not name:
        return None
    found = session.scalars(
        select(Organisation).where(func.lower(Organisation.name) == name.lower())
        .order_by(select(func.count()).where(Asset.organisation_id == Organisation.id).scalar_subquery().desc(),
                  Organisation.id)
        .limit(1)
    ).first()
    if found is None:
        found = Organisation(name=name, source="web")
        session.add(found)
        session.flush()
    return found


def organisation_columns(session: Session, asset_id: int, organisation_name: str | None) -> dict[str, Any]:
    """``{"organisation": ...}`` to set who runs an asset to ``organisation_name`` ("" for no one),
    or ``{}`` when that is who runs it now (ignoring case and spacing) or when None (not asked)."""
    if organisation_name is None:
        return {}
    now = session.scalar(select(Organisation.name).join(Asset, Asset.organisation_id == Organisation.id)
                         .where(Asset.id == asset_id))
    if organisation_key(now) == organisation_key(organisation_name):
        return {}
    return {"organisation": organisation_for(session, organisation_name)}


def submit_new(session: Session, values: dict, submitter_email: str | None, user_id: int | None = None,
               organisation_name: str | None = None) -> int:
    """Store a volunteer's new asset as ``pending`` with its change request; returns the asset id.

    ``organisation_name``: who runs it, linked to the organisation of that name or a new one.
    """
    changes = assets.create_asset(session, values, status=AssetStatus.pending, user_id=user_id,
                                  submitter_email=submitter_email, reason="submitted through the website",
                                  columns={"organisation": organisation_for(session, organisation_name)})
    asset_id = changes.inserted[0]
    session.add(ChangeRequest(asset_id=asset_id, kind="new", payload=values,
                              base_version=session.get(Asset, asset_id).version,
                              submitter_email=submitter_email, submitted_by_id=user_id))
    assets.flush_or_conflict(session)
    return asset_id


def submit_change(session: Session, asset_id: int, values: dict, submitter_email: str | None,
                  comment: str | None, user_id: int | None = None) -> int:
    """A suggested change to a published asset, kept for review (the asset is not touched).

    Only the fields that differ from the asset as it is are kept, so approving it later does not
    undo other changes made in between.
    """
    asset = get_public_asset(session, asset_id)
    changed = {field: values[field] for field in diff(asset, values) if field in EDITABLE_FIELDS}
    request = ChangeRequest(asset_id=asset_id, kind="change", payload=changed, base_version=asset["version"],
                            comment=comment, submitter_email=submitter_email, submitted_by_id=user_id)
    session.add(request)
    assets.flush_or_conflict(session)
    return request.id


def submit_problem(session: Session, asset_id: int, problem_type: str, comment: str | None,
                   submitter_email: str | None, user_id: int | None = None) -> int:
    """A problem report about a published asset, for the moderators' queue."""
    asset = get_public_asset(session, asset_id)
    request = ChangeRequest(asset_id=asset_id, kind="problem", problem_type=problem_type, comment=comment,
                            base_version=asset["version"], submitter_email=submitter_email,
                            submitted_by_id=user_id)
    session.add(request)
    assets.flush_or_conflict(session)
    return request.id


def _close_requests(session: Session, asset_id: int, kinds: tuple[str, ...], status: str, moderator_id: int,
                    reason: str | None, request_id: int | None = None) -> None:
    session.execute(
        update(ChangeRequest)
        .where(ChangeRequest.asset_id == asset_id, ChangeRequest.kind.in_(kinds), ChangeRequest.status == "pending",
               (ChangeRequest.id == request_id) if request_id is not None else true())
        .values(status=status, reviewed_by_id=moderator_id, reviewed_at=func.now(), reason=reason)
        .execution_options(synchronize_session=False)
    )


def _pending_new(session: Session, asset_id: int, expected_version: int | None) -> Asset:
    asset = assets.load_asset(session, asset_id, expected_version)
    if asset.status != AssetStatus.pending:
        raise ConflictError(f"it has already been reviewed (it is {asset.status.value} now)",
                            details={"asset_id": asset_id})
    return asset


def approve_new(session: Session, asset_id: int, values: dict | None, expected_version: int | None,
                moderator_id: int, reason: str | None = None, *, organisation_name: str | None = None) -> AssetChanges:
    """Publish a pending asset at once, with the moderator's edits (``values``, and who runs it:
    ``organisation_name``, "" for no one, None to leave it) if any."""
    _pending_new(session, asset_id, expected_version)
    changes = assets.update_asset(session, asset_id, values, expected_version=expected_version, user_id=moderator_id,
                                  action="approve", reason=reason or "approved", status=AssetStatus.published,
                                  reviewed_by=moderator_id, verified=True,
                                  columns=organisation_columns(session, asset_id, organisation_name))
    _close_requests(session, asset_id, ("new",), "approved", moderator_id, reason)
    return changes


def reject_new(session: Session, asset_id: int, expected_version: int | None, moderator_id: int,
               reason: str) -> AssetChanges:
    """Reject a pending asset: it is kept, as ``rejected``, and never shown."""
    if not reason:
        raise BadInputError("give a reason for rejecting it")
    _pending_new(session, asset_id, expected_version)
    changes = assets.update_asset(session, asset_id, expected_version=expected_version, user_id=moderator_id,
                                  action="reject", reason=reason, status=AssetStatus.rejected,
                                  reviewed_by=moderator_id)
    _close_requests(session, asset_id, ("new",), "rejected", moderator_id, reason)
    return changes


def _pending_request(session: Session, request_id: int) -> ChangeRequest:
    request = session.get(ChangeRequest, request_id, with_for_update=True)
    if request is None or request.kind == "new":
        raise NotFoundError(f"no change request {request_id}")
    if request.status != "pending":
        raise ConflictError(f"change request {request_id} has already been {request.status}")
    return request


def approve_request(session: Session, request_id: int, values: dict | None, expected_version: int | None,
                    moderator_id: int, reason: str | None = None, *,
                    organisation_name: str | None = None) -> AssetChanges:
    """Apply a suggested change (or the moderator's edit of it) or resolve a problem report.

    For a change, ``values`` are what the moderator approved (default: the suggested fields). For a
    problem, ``values`` are the moderator's corrections, if any. The asset counts as checked when
    it changes. A problem resolved with nothing to correct closes the report and writes no revision
    (the report keeps who resolved it, when and why). ``organisation_name`` sets who runs it
    ("" for no one; None leaves it).
    """
    request = _pending_request(session, request_id)
    if request.kind == "change":
        values = values if values is not None else request.payload
    columns = organisation_columns(session, request.asset_id, organisation_name)
    if request.kind == "problem" and not request_changes(session, request.asset_id, values) and not columns:
        assets.load_asset(session, request.asset_id, expected_version)  # still the version the moderator saw
        _close_requests(session, request.asset_id, (request.kind,), "approved", moderator_id, reason,
                        request_id=request.id)
        assets.flush_or_conflict(session)
        return assets.NOTHING
    why = f"{request.kind} request {request.id}" + (f": {reason}" if reason else "")
    changes = assets.update_asset(session, request.asset_id, values or {}, expected_version=expected_version,
                                  user_id=moderator_id, action="update", reason=why, verified=True, columns=columns)
    _close_requests(session, request.asset_id, (request.kind,), "approved", moderator_id, reason,
                    request_id=request.id)
    return changes


def request_changes(session: Session, asset_id: int, values: dict | None) -> dict:
    """What ``values`` would change on the asset as it is now: ``{field: [before, after]}``."""
    if not values:
        return {}
    asset = get_asset(session, asset_id)
    return {field: pair for field, pair in diff(asset, snapshot({**asset, **values})).items()
            if field != "version"}


def reject_request(session: Session, request_id: int, moderator_id: int, reason: str) -> None:
    """Turn down a suggested change or dismiss a problem report; the asset is not touched."""
    if not reason:
        raise BadInputError("give a reason for turning it down")
    request = _pending_request(session, request_id)
    _close_requests(session, request.asset_id, (request.kind,), "rejected", moderator_id, reason,
                    request_id=request.id)
    session.flush()


def update_asset(session: Session, asset_id: int, values: dict, expected_version: int | None, user_id: int,
                 reason: str | None, *, organisation_name: str | None = None) -> AssetChanges:
    """A moderator's direct edit; ``organisation_name`` (when given; "" for none) sets who runs it."""
    columns = {} if organisation_name is None else {"organisation": organisation_for(session, organisation_name)}
    return assets.update_asset(session, asset_id, values, expected_version=expected_version, user_id=user_id,
                               reason=reason or "edited by a moderator", columns=columns)


def archive_asset(session: Session, asset_id: int, expected_version: int | None, user_id: int, reason: str,
                  request_id: int | None = None) -> AssetChanges:
    """Take an asset off the map, keeping it and its history ("deleting" from the web does this).

    ``request_id``: a problem report this resolves.
    """
    changes = assets.archive_asset(session, asset_id, expected_version=expected_version, user_id=user_id,
                                   reason=reason)
    if request_id is not None:
        request = _pending_request(session, request_id)
        if request.asset_id != asset_id:
            raise BadInputError(f"change request {request_id} is about another place")
        _close_requests(session, asset_id, (request.kind,), "approved", user_id, reason, request_id=request_id)
    return changes


def restore_revision(session: Session, asset_id: int, revision_id: int, expected_version: int | None, user_id: int,
                     reason: str | None = None) -> AssetChanges:
    """Bring back the fields an old revision recorded (and its status when published or
    archived), as a new revision; the old ones stay as they are."""
    return assets.restore_asset(session, asset_id, revision_id, expected_version=expected_version, user_id=user_id,
                                reason=reason)


def verify_asset(session: Session, asset_id: int, user_id: int) -> dict:
    """Record that a moderator checked the asset today.

    Nothing a person sees changes, so the version stays as it is: a moderator editing the same
    asset meanwhile can still save.
    """
    before = assets.snapshots(session, [asset_id]).get(asset_id)
    if before is None:
        raise NotFoundError(f"no place or group with id {asset_id}")
    session.execute(text("UPDATE asset SET last_verified_at = now() WHERE id = :id"), {"id": asset_id})
    asset = session.get(Asset, asset_id)
    session.expire(asset, ["last_verified_at"])
    session.add(Revision(asset_id=asset_id, user_id=user_id, action="verify", changes={}, snapshot=before,
                         reason="checked: still right", status_after=before["status"]))
    assets.flush_or_conflict(session)
    return before


# --- reading: queue, review, history, stale ---------------------------------------------------
def queue(session: Session, kind: str | None = None, limit: int = 100, offset: int = 0) -> dict:
    """What waits for review, oldest first: new assets (pending, from the form or an import not
    published at once), suggested changes and problem reports.

    Returns ``{"items": [...], "total": n, "counts": {kind: n}}``; each item has ``kind``,
    ``request_id`` (None for an imported pending asset), ``asset_id``, ``name``, ``submitted_at``,
    ``submitter_email``, ``problem_type``, ``comment`` and ``changed_fields``.
    """
    if kind not in (None, "new", "change", "problem"):
        raise BadInputError(f"unknown kind {kind!r}; choose new, change or problem")
    items_sql = """
        SELECT 'new' AS kind, cr.id AS request_id, a.id AS asset_id, a.name,
               COALESCE(cr.created_at, a.created_at) AS submitted_at,
               COALESCE(cr.submitter_email, a.submitter_email) AS submitter_email, a.source,
               NULL AS problem_type, NULL AS comment, NULL::jsonb AS payload
        FROM asset a
        LEFT JOIN LATERAL (SELECT * FROM change_request c WHERE c.asset_id = a.id AND c.kind = 'new'
                           AND c.status = 'pending' ORDER BY c.id LIMIT 1) cr ON true
        WHERE a.status = 'pending'
        UNION ALL
        SELECT cr.kind, cr.id, a.id, a.name, cr.created_at, cr.submitter_email, a.source,
               cr.problem_type, cr.comment, cr.payload
        FROM change_request cr JOIN asset a ON a.id = cr.asset_id
        WHERE cr.status = 'pending' AND cr.kind IN ('change', 'problem')
    """
    counts = dict(session.execute(
        text(f"SELECT kind, count(*) FROM ({items_sql}) q GROUP BY kind ORDER BY kind")).all())
    rows = session.execute(text(
        f"""
        SELECT * FROM ({items_sql}) q WHERE CAST(:kind AS text) IS NULL OR q.kind = :kind
        ORDER BY submitted_at, asset_id, request_id NULLS FIRST LIMIT :limit OFFSET :offset
        """
    ), {"kind": kind, "limit": limit, "offset": offset}).mappings().all()
    current = _assets(session, sorted({r["asset_id"] for r in rows if r["kind"] == "change"}))
    items = []
    for r in rows:
        item = dict(r)
        payload = item.pop("payload")
        now = current.get(r["asset_id"])
        item["changed_fields"] = list(diff(now, {**now, **payload})) if r["kind"] == "change" else []
        items.append(item)
    return {"items": items, "total": sum(counts.get(k, 0) for k in ([kind] if kind else counts)), "counts": counts}


def _request_dict(request: ChangeRequest) -> dict:
    return {c.name: getattr(request, c.name) for c in ChangeRequest.__table__.columns}


def review_new(session: Session, asset_id: int) -> dict:
    """A pending asset for review: its fields, the differences from nothing, its submission."""
    asset = get_asset(session, asset_id)
    if asset["status"] != "pending":
        raise NotFoundError(f"place {asset_id} is not waiting for review (it is {asset['status']})")
    request = session.scalar(select(ChangeRequest).where(
        ChangeRequest.asset_id == asset_id, ChangeRequest.kind == "new", ChangeRequest.status == "pending"
    ).order_by(ChangeRequest.id).limit(1))
    return {"kind": "new", "asset": asset, "proposed": asset, "changes": diff(None, asset),
            "request": _request_dict(request) if request else None,
            "duplicates": find_duplicates(session, asset["name"], *asset["location"], exclude_asset_id=asset_id,
                                          include_pending=True)
            if asset["location"] else []}


def review_request(session: Session, request_id: int) -> dict:
    """A change request or problem report for review, with the asset as it is now."""
    request = session.get(ChangeRequest, request_id)
    if request is None or request.kind == "new":
        raise NotFoundError(f"no change request {request_id}")
    asset = get_asset(session, request.asset_id)
    proposed = snapshot({**asset, **(request.payload or {})}) if request.kind == "change" else asset
    return {"kind": request.kind, "asset": asset, "proposed": proposed, "changes": diff(asset, proposed),
            "request": _request_dict(request), "duplicates": []}


def history(session: Session, asset_id: int) -> list[dict]:
    """Every revision of an asset, newest first, with who made it."""
    rows = session.execute(text(
        """
        SELECT r.id, r.created_at, r.action, r.changes, r.snapshot, r.reason, r.status_after,
               u.email AS user_email, u.name AS user_name
        FROM revision r LEFT JOIN app_user u ON u.id = r.user_id
        WHERE r.asset_id = :id ORDER BY r.id DESC
        """
    ), {"id": asset_id}).mappings()
    return [dict(r) for r in rows]


def search_assets(session: Session, query: str, *, limit: int = 50) -> list[dict]:
    """Assets of any status for a moderator's search: by id ("123" or "#123"), postcode (whole,
    or its outward part "SY11"), or words of the name (each word must appear). Exact id and
    postcode first, then the names most like the query."""
    query = " ".join((clean_text(query) or "").split())[:200]
    if not query:
        return []
    digits = query.removeprefix("#")
    wanted_id = int(digits) if is_digits(digits, 11) else None
    postcode = normalise_postcode(query)
    outward = query.upper() if re.fullmatch(r"[A-Za-z]{1,2}\d[A-Za-z\d]?", query) else None
    words = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in query.split()[:8]]
    name_match = " AND ".join(f"a.name ILIKE :w{i}" for i in range(len(words)))
    params: dict[str, Any] = {f"w{i}": f"%{w}%" for i, w in enumerate(words)}
    params |= {"id": wanted_id, "postcode": postcode, "outward": f"{outward} %" if outward else None,
               "q": query.lower(), "limit": limit}
    rows = session.execute(text(
        f"""
        SELECT a.id, a.name, a.status::text AS status, a.postcode, a.town, a.address, a.source, a.version,
               (a.id = CAST(:id AS bigint) OR a.postcode = CAST(:postcode AS text)) AS exact
        FROM asset a
        WHERE a.id = CAST(:id AS bigint) OR a.postcode = CAST(:postcode AS text)
           OR a.postcode LIKE CAST(:outward AS text) OR ({name_match})
        ORDER BY exact DESC, similarity(lower(a.name), :q) DESC, a.name, a.id
        LIMIT :limit
        """
    ), params).mappings()
    return [dict(r) for r in rows]


def revision_version(session: Session, asset_id: int, revision_id: int) -> dict:
    """``{"version": n, "created_at": when}`` of the asset as a revision left it (for "Restore version 3")."""
    row = session.execute(text(
        "SELECT (snapshot->>'version')::int AS version, created_at FROM revision WHERE id = :rid AND asset_id = :aid"
    ), {"rid": revision_id, "aid": asset_id}).mappings().first()
    if row is None:
        raise NotFoundError(f"no revision {revision_id} of place {asset_id}")
    return dict(row)


def open_requests(session: Session, asset_id: int) -> list[dict]:
    """The change requests and problem reports waiting about one asset, oldest first."""
    rows = session.scalars(select(ChangeRequest).where(
        ChangeRequest.asset_id == asset_id, ChangeRequest.status == "pending"
    ).order_by(ChangeRequest.created_at, ChangeRequest.id)).all()
    return [_request_dict(r) for r in rows]


_CHECKED = "COALESCE(a.last_verified_at, a.created_at)"


def stale_assets(session: Session, months: int, *, now: datetime | None = None, lad_code: str | None = None,
                 source: str | None = None, limit: int = 200, offset: int = 0) -> dict:
    """Published assets nobody has checked for ``months`` months (never checked: since added),
    least recently checked first. Returns ``{"items": [...], "total": n}``."""
    where = f"""
        a.status = 'published' AND {_CHECKED} < CAST(:cutoff AS timestamptz)
        AND (CAST(:source AS text) IS NULL OR a.source = :source)
        AND (CAST(:lad AS text) IS NULL OR EXISTS (
            SELECT 1 FROM area l WHERE l.level = 'lsoa' AND l.lad_code = :lad AND ST_Intersects(a.location, l.geom)))
    """
    params = {"cutoff": stale_before(now or datetime.now().astimezone(), int(months)), "lad": lad_code,
              "source": source, "limit": limit, "offset": offset}
    total = session.execute(text(f"SELECT count(*) FROM asset a WHERE {where}"), params).scalar_one()
    rows = session.execute(text(
        f"""
        SELECT a.id, a.name, a.address, a.postcode, a.source, a.email, a.version,
               a.last_verified_at, {_CHECKED} AS checked_at,
               (SELECT r.stage FROM asset_reminder r WHERE r.asset_id = a.id AND r.sent_at > {_CHECKED}
                ORDER BY r.sent_at DESC, r.id DESC LIMIT 1) AS last_reminder
        FROM asset a WHERE {where}
        ORDER BY checked_at, a.name, a.id LIMIT :limit OFFSET :offset
        """
    ), params).mappings()
    return {"items": [dict(r) for r in rows], "total": total}


def reminder_candidates(session: Session, months: int, *, now: datetime,
                        sources: list[str] | None = None) -> list[dict]:
    """Stale published assets with a contact email, each with the last reminder sent since it was
    last checked (``last_stage``, ``last_sent_at``; None when none), by id."""
    rows = session.execute(text(
        f"""
        SELECT a.id, a.name, a.postcode, COALESCE(a.email, a.submitter_email) AS email, {_CHECKED} AS checked_at,
               r.stage AS last_stage, r.sent_at AS last_sent_at
        FROM asset a
        LEFT JOIN LATERAL (SELECT stage, sent_at FROM asset_reminder r WHERE r.asset_id = a.id
                           AND r.sent_at > {_CHECKED} ORDER BY r.sent_at DESC, r.id DESC LIMIT 1) r ON true
        WHERE a.status = 'published' AND COALESCE(a.email, a.submitter_email) IS NOT NULL
          AND {_CHECKED} < CAST(:cutoff AS timestamptz)
          AND (CAST(:sources AS text[]) IS NULL OR a.source = ANY(CAST(:sources AS text[])))
        ORDER BY a.id
        """
    ), {"cutoff": stale_before(now, int(months)), "sources": sources}).mappings()
    return [dict(r) for r in rows]


def record_reminder(session: Session, asset_id: int, stage: str, email: str, sent_at: datetime) -> None:
    """Note that a reminder went out (so the next run sends the next stage, not the same again)."""
    session.execute(
        text("INSERT INTO asset_reminder (asset_id, stage, email, sent_at) VALUES (:a, :s, :e, :t)"),
        {"a": asset_id, "s": stage, "e": email, "t": sent_at},
    )


def try_reminder_lock(session: Session) -> bool:
    """Take the reminder runs' lock until the session's transaction ends; False if another run
    holds it (see :func:`assetmap.db.locks.try_transaction_lock`)."""
    from assetmap.db import locks

    return locks.try_transaction_lock(session, locks.REMINDERS)
