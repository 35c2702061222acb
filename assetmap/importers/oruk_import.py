"""Open Referral UK (v3, HSDS 3.0) JSON into assets, organisations and taxonomy terms.

Reads a file or a directory of ``*.json`` files, each holding a service, a list of services, a
page of a ``/services`` (or ``/service_at_locations``, ``/organizations``, ``/taxonomies``,
``/taxonomy_terms``) response, or one of those objects. A service listed several times (a page's
summary and the full service) is read once, the fuller copy winning. Each service at a location
becomes one asset; one service at several locations keeps one service id through
``oruk_service_at_location``. Assets are matched by those ids on re-import, including assets this
service published itself (so its own export imports onto the same assets).

Everything happens in the caller's transaction: a file that cannot be read stops the whole import.
"""
from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap.db import assets
from assetmap.db.assets import NOTHING, AssetChanges
from assetmap.db.models import (
    Asset,
    AssetStatus,
    Organisation,
    OrukServiceAtLocation,
    OrukTaxonomy,
    TaxonomyTerm,
)
from assetmap.db.oruk_queries import vocabularies_in_use
from assetmap.domain import oruk_common, oruk_feed
from assetmap.errors import BadInputError, ImportFileError
from assetmap.importers.report import ImportReport, RowProblem, silent_progress

SOURCE = "oruk"
DATASET_KEY = "oruk-import"


@dataclass
class OrukReport(ImportReport):
    """An import report that also counts fields the profile does not define, and keeps notes on
    what was read differently from how it was published (not errors: the service was imported)."""

    unknown_fields: Counter = field(default_factory=Counter)
    notes: list[RowProblem] = field(default_factory=list)

    def note(self, row: int | None, reason: str, column: str | None = None, value=None) -> None:
        self.notes.append(RowProblem(row, reason, column, None if value is None else str(value)))

    def summary(self, max_problems: int = 20) -> str:
        lines = [super().summary(max_problems)]
        for name, n in sorted(self.unknown_fields.items()):
            lines.append(f"  unknown field {name} in {n} object(s): kept as published, not published again")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["unknown_fields"] = dict(sorted(self.unknown_fields.items()))
        out["notes"] = [vars(n) for n in self.notes[:1000]]
        out["note_count"] = len(self.notes)
        return out


# --- reading the documents ------------------------------------------------------------------------

@dataclass
class _Documents:
    services: dict[str, dict] = field(default_factory=dict)  # by id, in first-seen order
    order: list[str] = field(default_factory=list)
    organisations: list[dict] = field(default_factory=list)
    taxonomies: list[dict] = field(default_factory=list)
    terms: list[dict] = field(default_factory=list)
    unrecognised: int = 0


def _json_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json" and p.is_file())
        if not files:
            raise ImportFileError(f"{path} holds no .json files")
        return files
    if not path.is_file():
        raise ImportFileError(f"file not found: {path}")
    return [path]


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportFileError(f"{path.name} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None


def _kind(obj: dict, hint: str) -> str | None:
    """What an ORUK object is: service, service_at_location, organization, taxonomy or taxonomy_term."""
    if "status" in obj or "service_at_locations" in obj or "cost_options" in obj or "schedules" in obj:
        return "service"
    if isinstance(obj.get("location"), dict) or isinstance(obj.get("service"), dict):
        return "service_at_location"
    if "services" in obj or "organization_identifiers" in obj or "website" in obj or "logo" in obj:
        return "organization"
    if "taxonomy_terms" in obj:
        return "taxonomy"
    if any(k in obj for k in ("taxonomy", "term", "parent_id", "taxonomy_id", "term_uri")):
        return "taxonomy_term"
    for name in ("service_at_location", "taxonomy_term", "taxonomy", "organization", "organisation", "service"):
        if name in hint:
            return "organization" if name == "organisation" else name
    return None


def _walk(doc: Any, hint: str) -> Iterator[dict]:
    """The ORUK objects in a document: pages and lists are opened up."""
    if isinstance(doc, list):
        for item in doc:
            yield from _walk(item, hint)
    elif isinstance(doc, dict):
        if isinstance(doc.get("contents"), list) and "total_items" in doc:
            yield from _walk(doc["contents"], hint)
        else:
            yield doc


def _merge(old: dict, new: dict) -> dict:
    """Two copies of one service: fields of either, the non-empty value winning, lists by id."""
    out = dict(old)
    for key, value in new.items():
        if value in (None, "", [], {}):
            continue
        if key == "service_at_locations" and isinstance(out.get(key), list) and isinstance(value, list):
            seen = {str(s.get("id")) for s in out[key] if isinstance(s, dict)}
            out[key] = out[key] + [s for s in value if isinstance(s, dict) and str(s.get("id")) not in seen]
        else:
            out[key] = value
    return out


def _add_service(docs: _Documents, service: dict) -> None:
    key = str(service.get("id"))
    if key in docs.services:
        docs.services[key] = _merge(docs.services[key], service)
    else:
        docs.services[key] = service
        docs.order.append(key)


def _read_documents(paths: list[Path]) -> _Documents:
    docs = _Documents()
    for path in paths:
        hint = path.stem.lower()
        for obj in _walk(_load(path), hint):
            kind = _kind(obj, hint)
            if kind == "service":
                _add_service(docs, obj)
            elif kind == "service_at_location":
                service = dict(obj.get("service") or {})
                if not service.get("id"):
                    docs.unrecognised += 1
                    continue
                sal = {k: v for k, v in obj.items() if k != "service"}
                service["service_at_locations"] = [sal]
                _add_service(docs, service)
            elif kind == "organization":
                org = {k: v for k, v in obj.items() if k != "services"}
                docs.organisations.append(org)
                for service in obj.get("services") or ():
                    if isinstance(service, dict):
                        _add_service(docs, {"organization": org, **service})
            elif kind == "taxonomy":
                docs.taxonomies.append(obj)
                docs.terms.extend({"taxonomy_id": obj.get("id"), "taxonomy": obj.get("name"), **t}
                                  for t in obj.get("taxonomy_terms") or () if isinstance(t, dict))
            elif kind == "taxonomy_term":
                docs.terms.append(obj)
            else:
                docs.unrecognised += 1
    return docs


# --- organisations and taxonomy terms ----------------------------------------------------------

def _upsert_organisation(session: Session, org: dict, cache: dict[uuid.UUID, Organisation]) -> Organisation:
    found = cache.get(org["uuid"])
    if found is None:
        found = session.scalar(select(Organisation).where(Organisation.uuid == org["uuid"]))
    if found is None:
        found = Organisation(uuid=org["uuid"], source=SOURCE, source_id=str(org["uuid"]), name=org["name"])
        session.add(found)
    for key in ("name", "description", "url", "email", "phone"):
        if org.get(key) is not None and getattr(found, key) != org[key]:
            setattr(found, key, org[key])
    cache[org["uuid"]] = found
    return found


def _slug(text: str, limit: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (slug or "term")[:limit].strip("-")


class _Terms:
    """Taxonomy terms by id, created in the vocabulary their taxonomy names when new."""

    def __init__(self, session: Session, report: OrukReport):
        self.session, self.report = session, report
        self.by_uuid: dict[uuid.UUID, TaxonomyTerm] = {}
        self.vocabularies: dict[str, str] = {}  # taxonomy id or name → vocabulary
        own = vocabularies_in_use(session)
        for vocabulary in own:
            self.vocabularies[str(oruk_common.derived_id("taxonomy", vocabulary))] = vocabulary
            self.vocabularies[vocabulary] = vocabulary
        for row in session.scalars(select(OrukTaxonomy)):
            self.vocabularies[str(row.uuid)] = row.vocabulary
            self.vocabularies[row.name.lower()] = row.vocabulary

    def taxonomy(self, obj: dict) -> str | None:
        """The vocabulary of a taxonomy object, made when new."""
        tax_id = oruk_feed.as_uuid(obj.get("id"))
        name = oruk_common.clean_text(obj.get("name"))
        if tax_id is None or name is None:
            self.report.note(None, "taxonomy without a UUID id or a name left out", "taxonomy", obj.get("id"))
            return None
        known = self.vocabularies.get(str(tax_id)) or self.vocabularies.get(name.lower())
        if known:
            return known
        vocabulary = _slug(name, 50)
        if self.session.get(OrukTaxonomy, vocabulary) is not None or vocabulary in self.vocabularies:
            vocabulary = f"{vocabulary[:41]}-{tax_id.hex[:8]}"
        self.session.add(OrukTaxonomy(vocabulary=vocabulary, uuid=tax_id, name=name[:300],
                                      description=oruk_common.clean_text(obj.get("description")),
                                      uri=oruk_common.clean_text(obj.get("uri")),
                                      version=oruk_common.clean_text(obj.get("version"))))
        self.session.flush()
        self.vocabularies[str(tax_id)] = self.vocabularies[name.lower()] = vocabulary
        return vocabulary

    def _vocabulary_for(self, term: dict) -> str:
        for key in (term.get("taxonomy_id"), term.get("taxonomy")):
            if key is not None and (str(key) in self.vocabularies or str(key).lower() in self.vocabularies):
                return self.vocabularies.get(str(key)) or self.vocabularies[str(key).lower()]
        name = term.get("taxonomy") or "imported"
        tax_id = term.get("taxonomy_id") or oruk_common.derived_id("taxonomy-name", name)
        return self.taxonomy({"id": str(tax_id), "name": str(name)}) or "imported"

    def term(self, term: dict) -> TaxonomyTerm | None:
        """The term for a parsed term dict (uuid, name, description, taxonomy, taxonomy_id,
        parent_id, term); made when no term has its id."""
        found = self.by_uuid.get(term["uuid"])
        if found is None:
            found = self.session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.uuid == term["uuid"]))
        if found is None:
            vocabulary = self._vocabulary_for(term)
            slug = _slug(term.get("term") or term.get("name") or str(term["uuid"]), 100)
            found = self.session.scalar(select(TaxonomyTerm).where(
                TaxonomyTerm.vocabulary == vocabulary, TaxonomyTerm.slug == slug))
            if found is None:
                if not term.get("name"):
                    self.report.note(None, "taxonomy term without a name left out", "taxonomy_term", term["uuid"])
                    return None
                found = TaxonomyTerm(uuid=term["uuid"], vocabulary=vocabulary, slug=slug, label=term["name"][:200],
                                     description=term.get("description"))
                self.session.add(found)
                self.session.flush()
        self.by_uuid[term["uuid"]] = found
        return found

    def link_parents(self, terms: list[dict]) -> None:
        for term in {t["uuid"]: t for t in terms}.values():
            parent_id = term.get("parent_id")
            child = self.by_uuid.get(term["uuid"])
            if parent_id is None or child is None or child.parent_id is not None:
                continue
            parent = self.by_uuid.get(parent_id) or self.session.scalar(
                select(TaxonomyTerm).where(TaxonomyTerm.uuid == parent_id))
            if parent is None:
                self.report.note(None, "parent term not in the file or the database; left without a parent",
                                 "taxonomy_term.parent_id", parent_id)
            elif parent.id != child.id:
                child.parent_id = parent.id


def _parsed_term(obj: dict) -> dict | None:
    term_id = oruk_feed.as_uuid(obj.get("id"))
    if term_id is None:
        return None
    return {"uuid": term_id, "name": oruk_common.clean_text(obj.get("name")) or oruk_common.clean_text(obj.get("term")),
            "description": oruk_common.clean_text(obj.get("description")),
            "taxonomy": oruk_common.clean_text(obj.get("taxonomy")),
            "taxonomy_id": oruk_feed.as_uuid(obj.get("taxonomy_id")),
            "parent_id": oruk_feed.as_uuid(obj.get("parent_id")),
            "term": oruk_common.clean_text(obj.get("term"))}


# --- assets ------------------------------------------------------------------------------------

def import_oruk(session: Session, path: Path, publish: bool = True, progress=silent_progress,
                category: str | None = None) -> OrukReport:
    """Import an Open Referral UK JSON file or directory of files.

    Parameters
    ----------
    session : a session inside the caller's transaction; nothing is committed here
    path : a ``.json`` file, or a directory of them
    publish : new assets are published (True) or wait for moderation (False); assets already in
        the database keep the status moderators gave them
    progress : ``progress(total=..., desc=...)`` factory of progress bars
    category : asset-type slug for services that carry no asset-type term (default ``other``)

    Returns
    -------
    OrukReport
        Services read, assets inserted, updated, unchanged; services skipped (inactive or
        defunct) and problems (no id or name); notes on values read differently from how they
        were published; fields the profile does not define, with how often they appeared.

    Examples
    --------
    >>> report = import_oruk(session, Path("services.json"))  # doctest: +SKIP
    >>> report.inserted, dict(report.unknown_fields)  # doctest: +SKIP
    (12, {})
    """
    path = Path(path)
    report = OrukReport(source=f"oruk ({path.name})")
    slug = category or "other"
    fallback = session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.vocabulary == "asset-type",
                                                         TaxonomyTerm.slug == slug))
    if fallback is None:
        raise BadInputError(f"unknown category {slug!r}")
    docs = _read_documents(_json_files(path))
    if docs.unrecognised:
        report.note(None, f"{docs.unrecognised} object(s) that are not ORUK services, locations, organizations "
                          "or taxonomies were left out")

    terms = _Terms(session, report)
    for taxonomy in docs.taxonomies:
        terms.taxonomy(taxonomy)
    loose_terms = [t for t in (_parsed_term(obj) for obj in docs.terms) if t is not None]
    for term in loose_terms:
        terms.term(term)
    orgs: dict[uuid.UUID, Organisation] = {}
    for obj in docs.organisations:
        parsed = oruk_feed.parse_organisation(obj)
        if parsed:
            _upsert_organisation(session, parsed, orgs)

    parsed_services: list[tuple[int, oruk_feed.ParsedService]] = []
    bar = progress(total=len(docs.order), desc="oruk: reading")
    for number, key in enumerate(docs.order, start=1):
        doc = docs.services[key]
        report.read += 1
        bar.update(1)
        try:
            parsed = oruk_feed.parse_service(doc)
        except BadInputError as error:
            report.problem(number, error.message, "service", doc.get("id") or doc.get("name"))
            continue
        report.unknown_fields.update(parsed.unknown_fields)
        for note in parsed.notes:
            report.note(number, note, "service", parsed.service_id)
        if parsed.status in ("inactive", "defunct"):
            report.skip(f"service is {parsed.status}")
            continue
        parsed_services.append((number, parsed))
    bar.close()

    # Ids for locations the feed gave none, and the assets they already are.
    for _, parsed in parsed_services:
        for index, loc in enumerate(parsed.locations):
            if loc.sal_id is None and (loc.location_id or loc.lat is not None or loc.address or loc.postcode):
                loc.sal_id = oruk_common.derived_id(f"service_at_location:{index}", parsed.service_id)
            if loc.sal_id is not None and loc.location_id is None:
                loc.location_id = oruk_common.derived_id("location", loc.sal_id)
    sal_ids = [loc.sal_id for _, p in parsed_services for loc in p.locations if loc.sal_id is not None]
    bare = [p.service_id for _, p in parsed_services if any(loc.sal_id is None for loc in p.locations)]
    by_sal, by_service = assets.oruk_assets(session, sal_ids, bare, SOURCE)
    points = assets.postcode_points(session, {loc.postcode for _, p in parsed_services for loc in p.locations
                                        if loc.postcode and loc.lat is None})
    existing_links = {row.asset_id: row for row in session.scalars(select(OrukServiceAtLocation).where(
        OrukServiceAtLocation.asset_id.in_(list(by_sal.values()) + list(by_service.values()))))}
    used_uuids = set(session.scalars(
        select(Asset.uuid).where(Asset.uuid.in_([p.service_id for _, p in parsed_services]))))

    bar = progress(total=len(parsed_services), desc="oruk: writing")
    seen_sals: set[uuid.UUID] = set()
    changes = NOTHING
    for number, parsed in parsed_services:
        bar.update(1)
        org = _upsert_organisation(session, parsed.organisation, orgs) if parsed.organisation else None
        service_terms = [t for t in (terms.term(term) for term in parsed.terms) if t is not None]
        if not any(t.vocabulary == "asset-type" for t in service_terms):
            service_terms.append(fallback)
        service_terms = sorted(set(service_terms), key=lambda t: (t.vocabulary, t.sort_order, t.slug))
        for loc in parsed.locations:
            if loc.sal_id is not None and loc.sal_id in seen_sals:
                report.problem(number, "service_at_location id used twice", "service_at_location.id", loc.sal_id)
                continue
            if loc.sal_id is not None:
                seen_sals.add(loc.sal_id)
            changes |= _write_asset(session, report, number, parsed, loc, org, service_terms, by_sal, by_service,
                                    points, existing_links, used_uuids, publish, path.name)
    bar.close()
    terms.link_parents(loose_terms + [t for _, p in parsed_services for t in p.terms])
    session.flush()
    report.changes = changes
    return report


def _write_asset(session: Session, report: OrukReport, number: int, parsed: oruk_feed.ParsedService,
                 loc: oruk_feed.ParsedLocation, org: Organisation | None, service_terms: list[TaxonomyTerm],
                 by_sal: dict, by_service: dict, points: dict, existing_links: dict, used_uuids: set,
                 publish: bool, file_name: str) -> AssetChanges:
    """Insert or update the asset of one service at one location (through
    :mod:`assetmap.db.assets`, with its revision) and its ids."""
    asset_id = by_sal.get(loc.sal_id) if loc.sal_id is not None else by_service.get(parsed.service_id)
    before = assets.snapshots(session, [asset_id]).get(asset_id) if asset_id is not None else None
    point = (loc.lon, loc.lat) if loc.lat is not None else points.get(loc.postcode or "")
    if point is None and loc.postcode:
        report.note(number, "no position: its postcode is not known here", "postal_code", loc.postcode)
    fields = dict(parsed.fields)
    columns = {"last_verified_at": fields.pop("last_verified_at", None), "organisation": org}
    values = {**fields, "address": loc.address, "town": loc.town, "postcode": loc.postcode,
              "phone": loc.phone, "opening_hours": loc.opening_hours, "opening_hours_note": loc.opening_hours_note,
              "accessibility": loc.accessibility, "location": point}
    current = session.get(Asset, asset_id) if before is not None else None
    if before is not None:
        # Where the standard cannot tell two values apart, the one moderators set is kept.
        values = oruk_feed.keep_what_the_feed_cannot_say(before, values)
    extra = {k: v for k, v in ((current.extra if current is not None else None) or {}).items() if k != "oruk"}
    location_kept = dict(loc.kept)
    if loc.postcode_as_published:
        location_kept["postal_code_as_published"] = loc.postcode_as_published
    kept = {k: v for k, v in {"service": parsed.kept, "location": location_kept}.items() if v}
    if kept:
        extra["oruk"] = kept
    columns["extra"] = extra or None
    reason = f"import oruk: {file_name}"
    if before is None:
        # The feed's own id, unless another asset has it (the same service at another location).
        new_uuid = parsed.service_id if parsed.service_id not in used_uuids else \
            oruk_common.derived_id("asset", loc.sal_id or parsed.service_id)
        used_uuids.add(new_uuid)
        changes = assets.create_asset(
            session, values, status=AssetStatus.published if publish else AssetStatus.pending, source=SOURCE,
            source_id=str(loc.sal_id) if loc.sal_id else f"service/{parsed.service_id}", uuid=new_uuid,
            action="import", reason=reason, terms=service_terms, columns=columns)
        asset_id = changes.inserted[0]
        report.inserted += 1
    else:
        changes = assets.update_asset(session, asset_id, values, action="import", reason=reason,
                                      terms=service_terms, columns=columns, only_if_changed=True)
        if changes:
            report.updated += 1
        else:
            report.unchanged += 1
    asset = session.get(Asset, asset_id)

    link = existing_links.get(asset.id) or session.get(OrukServiceAtLocation, asset.id)
    wanted = (parsed.service_id, loc.sal_id or oruk_common.derived_id("service_at_location", asset.uuid),
              loc.location_id or oruk_common.derived_id("location", asset.uuid))
    derived = (asset.uuid, oruk_common.derived_id("service_at_location", asset.uuid),
               oruk_common.derived_id("location", asset.uuid))
    if link is None and wanted != derived:
        session.add(OrukServiceAtLocation(asset_id=asset.id, service_uuid=wanted[0], uuid=wanted[1],
                                          location_uuid=wanted[2]))
    elif link is not None and (link.service_uuid, link.uuid, link.location_uuid) != wanted:
        link.service_uuid, link.uuid, link.location_uuid = wanted
    return changes
