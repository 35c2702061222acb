"""Queries behind the Open Referral UK API and exports: published assets as services.

Every list has a stable order (a unique key last), so paging never skips or repeats. Only
published assets are ever read. The ids of assets with no ``oruk_service_at_location`` row are
derived here in SQL exactly as :func:`assetmap.domain.oruk_common.derived_id` derives them in Python.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from functools import lru_cache

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.config import PROJECT_DIR
from assetmap.db import catalogue
from assetmap.domain.oruk_common import AGE_GROUPS, NAMESPACE, derived_id
from assetmap.domain.oruk_query import ServiceQuery
from assetmap.errors import BadInputError, NotFoundError

_NS_HEX = NAMESPACE.hex


def derived_id_sql(kind: str, column: str) -> str:
    """SQL for ``uuid3(NAMESPACE, kind + ":" + column::text)`` (RFC 4122 version 3)."""
    digest = f"md5(decode('{_NS_HEX}', 'hex') || convert_to('{kind}:' || {column}::text, 'UTF8'))"
    return (
        f"(overlay(overlay({digest} placing '3' from 13 for 1) placing "
        f"substr('89ab', (('x' || substr({digest}, 17, 1))::bit(4)::int & 3) + 1, 1) from 17 for 1))::uuid"
    )


_SERVICE_ID = "COALESCE(l.service_uuid, a.uuid)"
_SAL_ID = f"COALESCE(l.uuid, {derived_id_sql('service_at_location', 'a.uuid')})"
_LOCATION_ID = f"COALESCE(l.location_uuid, {derived_id_sql('location', 'a.uuid')})"
_PUBLISHED = "a.status = 'published'"
# What the domain publishes as a service_at_location: a position or an address.
_LOCATED = ("(a.location IS NOT NULL OR NULLIF(a.address, '') IS NOT NULL OR NULLIF(a.postcode, '') IS NOT NULL "
            "OR NULLIF(a.town, '') IS NOT NULL)")


def _age_sql() -> tuple[str, str]:
    """SQL for an asset's lowest and highest age from its age groups (NULL: none, or no limit)."""
    by_low = sorted(AGE_GROUPS.items(), key=lambda item: item[1][0])
    minimum = "CASE " + " ".join(f"WHEN '{g}' = ANY(a.age_groups) THEN {lo}" for g, (lo, _) in by_low) + " END"
    unbounded = [g for g, (_, hi) in AGE_GROUPS.items() if hi is None]
    by_high = sorted(((g, hi) for g, (_, hi) in AGE_GROUPS.items() if hi is not None), key=lambda x: -x[1])
    maximum = ("CASE " + " ".join(f"WHEN '{g}' = ANY(a.age_groups) THEN NULL" for g in unbounded) + " "
               + " ".join(f"WHEN '{g}' = ANY(a.age_groups) THEN {hi}" for g, hi in by_high) + " END")
    return minimum, maximum


_MIN_AGE, _MAX_AGE = _age_sql()

_MINUTES = ("CASE WHEN {t} ~ '^[0-2][0-9]:[0-5][0-9]$' THEN split_part({t}, ':', 1)::int * 60 "
            "+ split_part({t}, ':', 2)::int END")
_HOURS_FILTER = f"""EXISTS (
    SELECT 1
    FROM jsonb_each(CASE WHEN jsonb_typeof(a.opening_hours) = 'object' THEN a.opening_hours ELSE '{{}}'::jsonb END)
         AS d(day, periods)
    CROSS JOIN LATERAL jsonb_array_elements(
         CASE WHEN jsonb_typeof(d.periods) = 'array' THEN d.periods ELSE '[]'::jsonb END) AS p(period)
    CROSS JOIN LATERAL (SELECT {_MINUTES.format(t="(p.period->>0)")} AS om,
                               {_MINUTES.format(t="(p.period->>1)")} AS cm) m
    WHERE m.om IS NOT NULL AND m.cm IS NOT NULL
      AND (CAST(:day AS text) IS NULL OR d.day = CAST(:day AS text))
      AND (CAST(:start_minute AS int) IS NULL OR m.om >= CAST(:start_minute AS int))
      AND (CAST(:end_minute AS int) IS NULL
           OR (CASE WHEN m.cm <= m.om THEN m.cm + 1440 ELSE m.cm END) <= CAST(:end_minute AS int))
)"""


# --- vocabularies ---------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _vocabulary_labels() -> dict[str, dict]:
    spec = json.loads((PROJECT_DIR / "data" / "taxonomy.json").read_text())
    return {key: {"name": v.get("label") or key, "description": v.get("description")}
            for key, v in spec["vocabularies"].items()}


def vocabularies_in_use(session: Session) -> list[str]:
    """The vocabularies that have taxonomy terms, in name order."""
    return list(session.execute(text("SELECT DISTINCT vocabulary FROM taxonomy_term ORDER BY 1")).scalars())


def list_taxonomies(session: Session) -> list[dict]:
    """Every vocabulary that has terms, as a taxonomy: uuid, vocabulary, name, description,
    uri, version; ordered by vocabulary."""
    rows = session.execute(text(
        """
        SELECT v.vocabulary, ot.uuid, ot.name, ot.description, ot.uri, ot.version
        FROM (SELECT DISTINCT vocabulary FROM taxonomy_term) v
        LEFT JOIN oruk_taxonomy ot ON ot.vocabulary = v.vocabulary
        ORDER BY v.vocabulary
        """
    )).mappings()
    labels = _vocabulary_labels()
    out = []
    for r in rows:
        own = labels.get(r["vocabulary"], {})
        out.append({
            "vocabulary": r["vocabulary"],
            "uuid": r["uuid"] or derived_id("taxonomy", r["vocabulary"]),
            "name": r["name"] or own.get("name") or r["vocabulary"],
            "description": r["description"] or own.get("description"),
            "uri": r["uri"],
            "version": r["version"],
        })
    return out


def _taxonomy_uuids(session: Session) -> dict[str, uuid.UUID]:
    return {t["vocabulary"]: t["uuid"] for t in list_taxonomies(session)}


def get_taxonomy(session: Session, taxonomy_id: uuid.UUID) -> dict:
    """One taxonomy by its id, with ``terms``; NotFoundError if none has it."""
    found = next((t for t in list_taxonomies(session) if t["uuid"] == taxonomy_id), None)
    if found is None:
        raise NotFoundError(f"no taxonomy with id {taxonomy_id}")
    total, terms = list_taxonomy_terms(session, 1, 100_000, vocabulary=found["vocabulary"])
    return {**found, "terms": terms}


_TERM_SELECT = """
    SELECT t.id, t.uuid, t.vocabulary, t.slug, t.label, t.description, p.uuid AS parent_uuid
    FROM taxonomy_term t LEFT JOIN taxonomy_term p ON p.id = t.parent_id
"""


def _with_taxonomy(session: Session, terms: list[dict]) -> list[dict]:
    uuids = _taxonomy_uuids(session) if terms else {}
    return [{**t, "taxonomy_uuid": uuids.get(t["vocabulary"]) or derived_id("taxonomy", t["vocabulary"])}
            for t in terms]


def list_taxonomy_terms(session: Session, page: int, per_page: int, vocabulary: str | None = None,
                        taxonomy_id: uuid.UUID | None = None) -> tuple[int, list[dict]]:
    """``(total, terms of the page)``, ordered by vocabulary, sort order, slug, id."""
    if taxonomy_id is not None:
        vocabulary = next((v for v, u in _taxonomy_uuids(session).items() if u == taxonomy_id), None)
        if vocabulary is None:
            return 0, []
    params = {"vocabulary": vocabulary, "limit": per_page, "offset": (page - 1) * per_page}
    where = "WHERE (CAST(:vocabulary AS text) IS NULL OR t.vocabulary = CAST(:vocabulary AS text))"
    total = session.execute(text(f"SELECT count(*) FROM taxonomy_term t {where}"), params).scalar_one()
    rows = session.execute(text(
        f"{_TERM_SELECT} {where} ORDER BY t.vocabulary, t.sort_order, t.slug, t.id LIMIT :limit OFFSET :offset"
    ), params).mappings()
    return total, _with_taxonomy(session, [dict(r) for r in rows])


def get_taxonomy_term(session: Session, term_id: uuid.UUID) -> dict:
    row = session.execute(text(f"{_TERM_SELECT} WHERE t.uuid = :id"), {"id": term_id}).mappings().first()
    if row is None:
        raise NotFoundError(f"no taxonomy term with id {term_id}")
    return _with_taxonomy(session, [dict(row)])[0]


# --- services ---------------------------------------------------------------------------------

def _postcode_point(session: Session, postcode: str) -> None:
    found = session.execute(text("SELECT 1 FROM postcode WHERE postcode = :pc"), {"pc": postcode}).first()
    if found is None:
        raise BadInputError(f"postcode {postcode} is not known here (it may be new, or outside the areas loaded)")


def _filters(session: Session, q: ServiceQuery) -> tuple[list[str], dict, bool]:
    """WHERE conditions on ``a`` (asset), ``l`` (oruk link), ``o`` (organisation), ``pc`` (postcode)."""
    where = [_PUBLISHED]
    params: dict = {"day": q.day, "start_minute": q.start_minute, "end_minute": q.end_minute}
    if q.search:
        like = "%" + q.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            "(to_tsvector('english', coalesce(a.name, '') || ' ' || coalesce(a.description, '')) "
            "@@ websearch_to_tsquery('english', :search) OR a.name ILIKE :search_like OR o.name ILIKE :search_like)"
        )
        params.update(search=q.search, search_like=like)
    if q.taxonomy_term_id:
        where.append(
            "EXISTS (SELECT 1 FROM asset_term x JOIN taxonomy_term t ON t.id = x.term_id "
            "LEFT JOIN taxonomy_term tp ON tp.id = t.parent_id "
            "WHERE x.asset_id = a.id AND (t.uuid = :term_id OR tp.uuid = :term_id))"
        )
        params["term_id"] = q.taxonomy_term_id
    if q.taxonomy_id:
        vocabulary = next((v for v, u in _taxonomy_uuids(session).items() if u == q.taxonomy_id), None)
        where.append(
            "EXISTS (SELECT 1 FROM asset_term x JOIN taxonomy_term t ON t.id = x.term_id "
            "WHERE x.asset_id = a.id AND t.vocabulary = CAST(:vocabulary AS text))"
        )
        params["vocabulary"] = vocabulary
    near = q.postcode is not None
    if near:
        _postcode_point(session, q.postcode)
        params["postcode"] = q.postcode
        if q.proximity is not None:
            # A box first (1 degree is at least 50 km of longitude in Britain), then the exact distance.
            where.append("a.location && ST_Expand(pc.location, :box) "
                         "AND ST_DWithin(a.location::geography, pc.location::geography, :proximity)")
            params.update(box=q.proximity / 50_000, proximity=q.proximity)
    if q.minimum_age is not None:
        where.append(f"COALESCE({_MIN_AGE}, 0) >= :minimum_age")
        params["minimum_age"] = q.minimum_age
    if q.maximum_age is not None:
        where.append(f"({_MAX_AGE}) <= :maximum_age")
        params["maximum_age"] = q.maximum_age
    if q.day or q.start_minute is not None or q.end_minute is not None:
        where.append(_HOURS_FILTER)
    if q.modified_after is not None:
        where.append("a.updated_at >= :modified_after")
        params["modified_after"] = q.modified_after
    return where, params, near


def _from(near: bool) -> str:
    joined = ("asset a LEFT JOIN oruk_service_at_location l ON l.asset_id = a.id "
              "LEFT JOIN organisation o ON o.id = a.organisation_id")
    if near:
        joined += " CROSS JOIN (SELECT location FROM postcode WHERE postcode = :postcode) pc"
    return joined


def _distance(near: bool) -> str:
    return "ST_Distance(a.location::geography, pc.location::geography)" if near else "NULL::float8"


def list_services(session: Session, q: ServiceQuery, page: int, per_page: int) -> tuple[int, list[list[dict]]]:
    """``(total, services of the page)``; each service is the list of its published assets.

    A service matches when any of its assets does. Ordered by distance from ``q.postcode`` when
    given, then by name and service id.
    """
    where, params, near = _filters(session, q)
    params.update(limit=per_page, offset=(page - 1) * per_page)
    rows = session.execute(text(
        f"""
        WITH m AS (
            SELECT {_SERVICE_ID} AS service_id, lower(a.name) AS name_key, {_distance(near)} AS distance
            FROM {_from(near)}
            WHERE {" AND ".join(where)}
        ), s AS (
            SELECT service_id, min(name_key) AS name_key, min(distance) AS distance FROM m GROUP BY service_id
        )
        SELECT service_id, distance, count(*) OVER () AS total FROM s
        ORDER BY distance NULLS LAST, name_key, service_id
        LIMIT :limit OFFSET :offset
        """
    ), params).all()
    total = rows[0].total if rows else _count_services(session, where, params, near)
    ids = [r.service_id for r in rows]
    groups = assets_of_services(session, ids)
    return total, [groups[i] for i in ids if i in groups]


def _count_services(session: Session, where: list[str], params: dict, near: bool) -> int:
    """The total when the page asked for lies past the end."""
    return session.execute(text(
        f"SELECT count(DISTINCT {_SERVICE_ID}) FROM {_from(near)} WHERE {' AND '.join(where)}"
    ), params).scalar_one()


def list_service_at_locations(session: Session, q: ServiceQuery, page: int,
                              per_page: int) -> tuple[int, list[tuple[dict, list[dict]]]]:
    """``(total, [(asset, its service's assets)])`` for located published assets matching ``q``,
    by distance (with a postcode), then name and asset id."""
    where, params, near = _filters(session, q)
    where.append(_LOCATED)
    params.update(limit=per_page, offset=(page - 1) * per_page)
    rows = session.execute(text(
        f"""
        SELECT a.id, {_SERVICE_ID} AS service_id, count(*) OVER () AS total
        FROM {_from(near)}
        WHERE {" AND ".join(where)}
        ORDER BY {_distance(near)} NULLS LAST, lower(a.name), a.id
        LIMIT :limit OFFSET :offset
        """
    ), params).all()
    if rows:
        total = rows[0].total
    else:
        total = session.execute(text(f"SELECT count(*) FROM {_from(near)} WHERE {' AND '.join(where)}"),
                                params).scalar_one()
    groups = assets_of_services(session, {r.service_id for r in rows})
    out = []
    for r in rows:
        service_assets = groups.get(r.service_id, [])
        asset = next((a for a in service_assets if a["id"] == r.id), None)
        if asset is not None:
            out.append((asset, service_assets))
    return total, out


def get_service(session: Session, service_id: uuid.UUID) -> list[dict]:
    """The published assets of one service; NotFoundError when it has none."""
    found = assets_of_services(session, [service_id]).get(service_id)
    if not found:
        raise NotFoundError(f"no published service with id {service_id}")
    return found


def get_service_at_location(session: Session, sal_id: uuid.UUID) -> tuple[dict, list[dict]]:
    """``(asset, its service's assets)`` for a service_at_location id; NotFoundError if none.

    Derived ids cannot be looked up by index; the derivation is only computed for assets without
    a link row, which is cheap next to reading them.
    """
    row = session.execute(text(
        f"""
        SELECT a.id, {_SERVICE_ID} AS service_id
        FROM asset a LEFT JOIN oruk_service_at_location l ON l.asset_id = a.id
        WHERE {_PUBLISHED} AND {_LOCATED}
          AND (l.uuid = :id OR (l.asset_id IS NULL AND {derived_id_sql('service_at_location', 'a.uuid')} = :id))
        """
    ), {"id": sal_id}).first()
    if row is None:
        raise NotFoundError(f"no published service_at_location with id {sal_id}")
    service_assets = assets_of_services(session, [row.service_id])[row.service_id]
    return next(a for a in service_assets if a["id"] == row.id), service_assets


_ASSET_SELECT = f"""
    SELECT a.id, a.uuid, {_SERVICE_ID} AS service_id, {_SAL_ID} AS sal_id, {_LOCATION_ID} AS location_id,
           a.name, a.description, a.url, a.email, a.phone, a.address, a.town, a.postcode,
           ST_Y(a.location) AS lat, ST_X(a.location) AS lon, a.opening_hours, a.opening_hours_note,
           a.cost, a.is_free, a.age_groups, a.eligibility_note, a.accessibility, a.access_modes,
           a.last_verified_at, a.updated_at, a.source, a.extra -> 'oruk' AS kept,
           o.uuid AS org_uuid, o.name AS org_name, o.description AS org_description, o.url AS org_url,
           o.email AS org_email, o.phone AS org_phone,
           (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                       'uuid', t.uuid, 'vocabulary', t.vocabulary, 'slug', t.slug, 'label', t.label,
                       'description', t.description, 'parent_uuid', tp.uuid)
                   ORDER BY t.vocabulary, t.sort_order, t.slug), '[]'::jsonb)
            FROM asset_term x JOIN taxonomy_term t ON t.id = x.term_id
            LEFT JOIN taxonomy_term tp ON tp.id = t.parent_id
            WHERE x.asset_id = a.id) AS terms
    FROM asset a
    LEFT JOIN oruk_service_at_location l ON l.asset_id = a.id
    LEFT JOIN organisation o ON o.id = a.organisation_id
"""


def _asset_dicts(session: Session, rows) -> list[dict]:
    uuids = _taxonomy_uuids(session)
    out = []
    for r in rows:
        d = dict(r)
        org_uuid = d.pop("org_uuid")
        org = {k: d.pop(f"org_{k}") for k in ("name", "description", "url", "email", "phone")}
        d["organisation"] = {"uuid": org_uuid, **org} if org_uuid else None
        d["terms"] = [
            {**t, "uuid": uuid.UUID(t["uuid"]),
             "parent_uuid": uuid.UUID(t["parent_uuid"]) if t["parent_uuid"] else None,
             "taxonomy_uuid": uuids.get(t["vocabulary"]) or derived_id("taxonomy", t["vocabulary"])}
            for t in d["terms"]
        ]
        d["kept"] = d["kept"] or {}
        out.append(d)
    return out


def assets_of_services(session: Session, service_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[dict]]:
    """Published assets of each service, by asset id: ``{service_id: [asset, ...]}``."""
    ids = list(service_ids)
    if not ids:
        return {}
    rows = session.execute(text(
        f"""
        {_ASSET_SELECT}
        WHERE {_PUBLISHED} AND a.id IN (
            SELECT asset_id FROM oruk_service_at_location WHERE service_uuid = ANY(:ids)
            UNION ALL
            SELECT x.id FROM asset x WHERE x.uuid = ANY(:ids)
              AND NOT EXISTS (SELECT 1 FROM oruk_service_at_location y WHERE y.asset_id = x.id))
        ORDER BY a.id
        """
    ), {"ids": ids}).mappings()
    groups: dict[uuid.UUID, list[dict]] = {}
    for asset in _asset_dicts(session, rows):
        groups.setdefault(asset["service_id"], []).append(asset)
    return groups


def assets_in_area(session: Session, area_code: str) -> list[dict]:
    """Published assets in an area (an LSOA or the LSOAs of a local authority), with their ORUK
    ids, organisation, terms and asset type, ordered as :func:`catalogue.assets_in_area` orders them."""
    listed = catalogue.assets_in_area(session, area_code)
    if not listed:
        return []
    rows = session.execute(text(f"{_ASSET_SELECT} WHERE {_PUBLISHED} AND a.id = ANY(:ids)"),
                           {"ids": [r["id"] for r in listed]}).mappings()
    by_id = {a["id"]: a for a in _asset_dicts(session, rows)}
    out = []
    for r in listed:
        asset = by_id.get(r["id"])
        if asset is not None:
            out.append({**asset, "category": r["category"], "category_label": r["category_label"]})
    return out


def services_in_area(session: Session, area_code: str) -> list[list[dict]]:
    """The area's published assets grouped into services (only the assets inside the area), by
    service name and id."""
    groups: dict[uuid.UUID, list[dict]] = {}
    for asset in assets_in_area(session, area_code):
        groups.setdefault(asset["service_id"], []).append(asset)
    for assets in groups.values():
        assets.sort(key=lambda a: a["id"])
    return sorted(groups.values(), key=lambda g: (g[0]["name"].lower(), str(g[0]["service_id"])))


# --- organisations ------------------------------------------------------------------------------

_ORG_SELECT = "SELECT o.id, o.uuid, o.name, o.description, o.url, o.email, o.phone, o.source, o.source_id"
_RUNS_PUBLISHED = ("EXISTS (SELECT 1 FROM asset a WHERE a.organisation_id = o.id AND a.status = 'published')")


def list_organizations(session: Session, q: ServiceQuery, page: int, per_page: int) -> tuple[int, list[dict]]:
    """``(total, organisations of the page)``: those running a published asset that matches ``q``.

    An organisation is only published through its published assets, so one named only by a
    submission still waiting for moderation never shows. Ordered by distance of its nearest
    matching asset from ``q.postcode`` when given, then by name and id.
    """
    where, params, near = _filters(session, q)
    where.append("a.organisation_id IS NOT NULL")
    params.update(limit=per_page, offset=(page - 1) * per_page)
    matched = f"""
        SELECT a.organisation_id, min({_distance(near)}) AS distance
        FROM {_from(near)}
        WHERE {" AND ".join(where)}
        GROUP BY a.organisation_id
    """
    rows = session.execute(text(
        f"""
        WITH m AS ({matched})
        {_ORG_SELECT}, count(*) OVER () AS total
        FROM m JOIN organisation o ON o.id = m.organisation_id
        ORDER BY m.distance NULLS LAST, lower(o.name), o.uuid
        LIMIT :limit OFFSET :offset
        """
    ), params).mappings().all()
    if rows:
        total = rows[0]["total"]
    else:
        total = session.execute(text(f"SELECT count(*) FROM ({matched}) m"), params).scalar_one()
    return total, [{k: v for k, v in r.items() if k != "total"} for r in rows]


def get_organization(session: Session, org_id: uuid.UUID) -> tuple[dict, list[list[dict]]]:
    """``(organisation, its services)`` for an organisation running a published asset; each
    service is the list of its published assets, ordered by service name and id.
    NotFoundError when no such organisation has this id."""
    org = session.execute(text(f"{_ORG_SELECT} FROM organisation o WHERE o.uuid = :id AND {_RUNS_PUBLISHED}"),
                          {"id": org_id}).mappings().first()
    if org is None:
        raise NotFoundError(f"no organization with published services has id {org_id}")
    service_ids = session.execute(text(
        f"""
        SELECT DISTINCT {_SERVICE_ID}
        FROM asset a LEFT JOIN oruk_service_at_location l ON l.asset_id = a.id
        WHERE {_PUBLISHED} AND a.organisation_id = :org
        """
    ), {"org": org["id"]}).scalars().all()
    groups = assets_of_services(session, service_ids)
    services = sorted(groups.values(), key=lambda g: (g[0]["name"].lower(), str(g[0]["service_id"])))
    return dict(org), services
