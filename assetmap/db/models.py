"""The data model, aligned with Open Referral UK / HSDS where it fits.

Geometries are stored in EPSG:4326 with GiST indexes; distances in metres are computed on
geography or on EPSG:27700 in the query modules.
"""
from __future__ import annotations

import enum
import secrets
import uuid
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Enum,
    FetchedValue,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class AssetStatus(str, enum.Enum):
    pending = "pending"
    published = "published"
    rejected = "rejected"
    archived = "archived"


class Role(str, enum.Enum):
    volunteer = "volunteer"
    moderator = "moderator"
    planner = "planner"
    admin = "admin"


# lsoa/msoa/ward: 2011 geography (wards of the WD13 files); lsoa21/msoa21/ward24: 2021 geography and
# current wards (see migration 0012).
AREA_LEVELS = ("lsoa", "msoa", "ward", "lad", "town", "custom", "lsoa21", "msoa21", "ward24")


class User(Base):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, name="user_role"), default=Role.volunteer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Named in the session and remember-me cookies; a new one (sign-out, new password,
    # deactivation) ends every session issued before.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(32))


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    source: Mapped[str | None] = mapped_column(String(50))
    source_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_organisation_source"),)


asset_term = Table(
    "asset_term",
    Base.metadata,
    Column("asset_id", ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True),
    Column("term_id", ForeignKey("taxonomy_term.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_asset_term_term", "term_id", "asset_id"),
)


class TaxonomyTerm(Base):
    """A term of a vocabulary (``asset-type``, ``five-ways``, ...); hierarchical through parent."""

    __tablename__ = "taxonomy_term"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True, default=uuid.uuid4)
    vocabulary: Mapped[str] = mapped_column(String(50))
    slug: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("taxonomy_term.id"))
    # Catchment radius used by the gap analysis for this category (metres); planners may edit.
    catchment_m: Mapped[float | None] = mapped_column(Float)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    parent: Mapped[TaxonomyTerm | None] = relationship(remote_side=[id])

    __table_args__ = (UniqueConstraint("vocabulary", "slug", name="uq_taxonomy_term_slug"),)


class Asset(Base):
    """A place, group or service at a location (an HSDS service at a location, flattened)."""

    __tablename__ = "asset"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=True)
    address: Mapped[str | None] = mapped_column(Text)
    town: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(254))
    url: Mapped[str | None] = mapped_column(String(500))
    # Weekly schedule as {"mon": [["09:00","13:00"], ...], ...}; see assetmap.domain.opening_hours.
    opening_hours: Mapped[dict | None] = mapped_column(JSONB)
    opening_hours_note: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[str | None] = mapped_column(Text)
    is_free: Mapped[bool | None] = mapped_column(Boolean)
    # drop_in, booking, referral, self_referral
    access_modes: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    age_groups: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)  # children, adults, older
    eligibility_note: Mapped[str | None] = mapped_column(Text)
    # step_free, hearing_loop, accessible_toilet
    accessibility: Mapped[list[str]] = mapped_column(ARRAY(String(30)), default=list)
    accepting_referrals: Mapped[bool | None] = mapped_column(Boolean)
    capacity: Mapped[float | None] = mapped_column(Float)
    # An asset may serve a wider area than its location (a helpline, an outreach service).
    service_area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    status: Mapped[AssetStatus] = mapped_column(Enum(AssetStatus, name="asset_status"), default=AssetStatus.pending)
    source: Mapped[str] = mapped_column(String(50), default="web")
    source_id: Mapped[str | None] = mapped_column(String(200))
    extra: Mapped[dict | None] = mapped_column(JSONB)  # source fields kept as published
    submitter_email: Mapped[str | None] = mapped_column(String(254))
    last_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    # The GeoJSON Feature's unchanging part, for the API's searches. The database writes it (the
    # triggers of migration 0007), never Python; deferred, so loading an asset does not read it.
    feature: Mapped[str] = mapped_column(Text, server_default=FetchedValue(), server_onupdate=FetchedValue(),
                                         deferred=True)

    organisation: Mapped[Organisation | None] = relationship()
    terms: Mapped[list[TaxonomyTerm]] = relationship(secondary=asset_term, order_by="TaxonomyTerm.sort_order")
    service_area: Mapped[Area | None] = relationship()

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_asset_source"),
        Index("ix_asset_location", "location", postgresql_using="gist"),
        Index("ix_asset_status", "status"),
        # The finder's indexes (migration 0003): distance on the sphere, and the keyword filter's
        # expression (assetmap.db.finder), so ILIKE '%word%' can use it. That expression is written
        # as PostgreSQL reports it (casts and brackets), so autogenerate finds it unchanged.
        Index("ix_asset_published_geog", text("(location::geography)"), postgresql_using="gist",
              postgresql_where=text("status = 'published'")),
        Index("ix_asset_text_trgm",
              literal_column("(name::text || ' '::text) || coalesce(description, ''::text)").label("text"),
              postgresql_using="gin", postgresql_ops={"text": "gin_trgm_ops"}),
        Index("ix_asset_service_area", "service_area_id",
              postgresql_where=text("service_area_id IS NOT NULL AND status = 'published'")),
        # The gap supply queries' boxes in metres (migration 0005).
        Index("ix_asset_published_27700", text("(ST_Transform(location, 27700))"), postgresql_using="gist",
              postgresql_where=text("status = 'published' AND location IS NOT NULL")),
        # The feature triggers' and the finder's look-ups (migration 0007).
        Index("ix_asset_published_located", "id",
              postgresql_where=text("status = 'published' AND location IS NOT NULL")),
        Index("ix_asset_organisation", "organisation_id", postgresql_where=text("organisation_id IS NOT NULL")),
        Index("ix_asset_service_area_any", "service_area_id", postgresql_where=text("service_area_id IS NOT NULL")),
    )


class Area(Base):
    """A neighbourhood or administrative area: LSOA, MSOA, ward, local authority, town or custom."""

    __tablename__ = "area"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique per level: an unchanged LSOA has the same code in 2011 and 2021 (two rows).
    code: Mapped[str] = mapped_column(String(20), index=True)
    # The readable name (assetmap.domain.area_names.area_label); ons_name is the publisher's.
    name: Mapped[str] = mapped_column(String(200))
    ons_name: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(10))
    lad_code: Mapped[str | None] = mapped_column(String(10), index=True)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    population: Mapped[float | None] = mapped_column(Float)
    pop_0_15: Mapped[float | None] = mapped_column(Float)
    pop_16_59: Mapped[float | None] = mapped_column(Float)
    pop_60_plus: Mapped[float | None] = mapped_column(Float)
    # How the age groups were obtained when they are estimates (LSOA 2021: see migration 0012).
    pop_method: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(50))
    msoa_code: Mapped[str | None] = mapped_column(String(10))  # an LSOA's MSOA
    ward_code: Mapped[str | None] = mapped_column(String(10))  # an LSOA 2021's ward (2024, best fit)
    ruc21_code: Mapped[str | None] = mapped_column(String(6))  # Rural-Urban Classification 2021
    rural: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        CheckConstraint(f"level IN {AREA_LEVELS}", name="ck_area_level"),
        UniqueConstraint("code", "level", name="uq_area_code_level"),
        Index("ix_area_geom", "geom", postgresql_using="gist"),
        Index("ix_area_level", "level", "lad_code"),
        Index("ix_area_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
    )


class Place(Base):
    """A populated place from OS Open Names (town, village, hamlet, suburb): the finder's gazetteer."""

    __tablename__ = "place"

    id: Mapped[int] = mapped_column(primary_key=True)
    os_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)  # assetmap.domain.names.name_key
    local_type: Mapped[str] = mapped_column(String(40))
    district: Mapped[str | None] = mapped_column(String(120))
    county: Mapped[str | None] = mapped_column(String(120))
    postcode_district: Mapped[str | None] = mapped_column(String(4))
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)

    __table_args__ = (
        Index("ix_place_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
    )


class Postcode(Base):
    """A postcode with its Code-Point Open position."""

    __tablename__ = "postcode"

    postcode: Mapped[str] = mapped_column(String(8), primary_key=True)  # normalised: "SY11 1PW"
    outward: Mapped[str] = mapped_column(String(4), index=True)
    easting: Mapped[int] = mapped_column(Integer)
    northing: Mapped[int] = mapped_column(Integer)
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    quality: Mapped[int | None] = mapped_column(Integer)
    lad_code: Mapped[str | None] = mapped_column(String(10))
    ward_code: Mapped[str | None] = mapped_column(String(10))

    __table_args__ = (Index("ix_postcode_location", "location", postgresql_using="gist"),)


class Indicator(Base):
    __tablename__ = "indicator"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(200))
    year: Mapped[int | None] = mapped_column(Integer)
    # True when a larger value means more need (a population share); False for IoD ranks,
    # where rank 1 is the most deprived.
    higher_is_more_need: Mapped[bool] = mapped_column(Boolean, default=True)
    unit: Mapped[str | None] = mapped_column(String(40))
    # The indicator's geography: "lsoa" (2011) for IoD 2019, "lsoa21" for IoD 2025 (migration 0012).
    area_level: Mapped[str] = mapped_column(String(10), default="lsoa")
    method: Mapped[str | None] = mapped_column(Text)  # how a derived indicator was made


class LsoaLookup(Base):
    """ONS LSOA 2011 -> LSOA 2021: change_code U unchanged, S split, M merged, X irregular."""

    __tablename__ = "lsoa_lookup"

    lsoa11_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    lsoa21_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    change_code: Mapped[str] = mapped_column(String(1))
    lad_code: Mapped[str | None] = mapped_column(String(10))

    __table_args__ = (
        CheckConstraint("change_code IN ('U', 'S', 'M', 'X')", name="ck_lsoa_lookup_change"),
        Index("ix_lsoa_lookup_lsoa21", "lsoa21_code"),
    )


class MsoaName(Base):
    """A House of Commons Library MSOA name ("Oswestry East") for an MSOA 2011 or 2021 (``level``)."""

    __tablename__ = "msoa_name"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    level: Mapped[str] = mapped_column(String(10), primary_key=True)  # msoa (2011) or msoa21
    ons_name: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))

    __table_args__ = (Index("ix_msoa_name_ons_name", "level", "ons_name"),)


class IndicatorValue(Base):
    __tablename__ = "indicator_value"

    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"), primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_indicator_value_area", "area_id"),)


class Revision(Base):
    """Append-only history of every change to an asset: who, when, what, why."""

    __tablename__ = "revision"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    action: Mapped[str] = mapped_column(String(30))  # create, update, import, approve, reject, archive, restore, verify
    changes: Mapped[dict] = mapped_column(JSONB, default=dict)  # {field: [old, new]}
    snapshot: Mapped[dict] = mapped_column(JSONB, default=dict)  # the asset's fields after the change
    reason: Mapped[str | None] = mapped_column(Text)
    status_after: Mapped[str | None] = mapped_column(String(20))


class Dataset(Base):
    """Provenance of every imported source: attribution shown on maps, and when it was updated."""

    __tablename__ = "dataset"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    publisher: Mapped[str | None] = mapped_column(String(300))
    licence: Mapped[str | None] = mapped_column(String(200))
    attribution: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(300))
    last_imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_report: Mapped[dict | None] = mapped_column(JSONB)


class ImportRun(Base):
    """One run of an importer: the report kept, and the file's signature so the demo can tell a
    file it has already loaded (a second ``make run`` is fast)."""

    __tablename__ = "import_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_key: Mapped[str | None] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(40))  # boundaries, indicators, postcodes, assets:<format>
    file_name: Mapped[str | None] = mapped_column(String(300))
    signature: Mapped[str | None] = mapped_column(String(200), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    report: Mapped[dict | None] = mapped_column(JSONB)


class ChangeRequest(Base):
    """Something a volunteer sent for review: a new asset, a suggested change, or a problem report.

    ``payload`` holds the proposed asset fields in the normal form of
    :mod:`assetmap.domain.revisions`; ``base_version`` is the asset's version it was based on.
    """

    __tablename__ = "change_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"))
    kind: Mapped[str] = mapped_column(String(10))  # new, change, problem
    payload: Mapped[dict | None] = mapped_column(JSONB)
    base_version: Mapped[int | None] = mapped_column(Integer)
    problem_type: Mapped[str | None] = mapped_column(String(20))  # closed, wrong_details, wrong_place, other
    comment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    submitter_email: Mapped[str | None] = mapped_column(String(254))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("kind IN ('new', 'change', 'problem')", name="ck_change_request_kind"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="ck_change_request_status"),
        CheckConstraint(
            "problem_type IS NULL OR problem_type IN ('closed', 'wrong_details', 'wrong_place', 'other')",
            name="ck_change_request_problem_type",
        ),
        Index("ix_change_request_status", "status", "created_at"),
        Index("ix_change_request_asset", "asset_id"),
    )


class AssetReminder(Base):
    """A reminder email sent to an asset's contact to check its details (stage first/reminder/urgent)."""

    __tablename__ = "asset_reminder"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"))
    stage: Mapped[str] = mapped_column(String(10))
    email: Mapped[str] = mapped_column(String(254))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("stage IN ('first', 'reminder', 'urgent')", name="ck_asset_reminder_stage"),
        Index("ix_asset_reminder_asset", "asset_id", "sent_at"),
    )


class OrukServiceAtLocation(Base):
    """Open Referral UK ids of an asset imported from a feed (one HSDS service at one location).

    Assets without a row take their ids from ``asset.uuid`` (see :func:`assetmap.domain.oruk_common.derived_id`).
    """

    __tablename__ = "oruk_service_at_location"

    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True)
    service_uuid: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    uuid: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    location_uuid: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        UniqueConstraint("uuid", name="uq_oruk_service_at_location_uuid"),
        Index("ix_oruk_sal_service", "service_uuid"),
        Index("ix_oruk_sal_location", "location_uuid"),
    )


class OrukTaxonomy(Base):
    """A vocabulary imported from an Open Referral UK feed, with the publisher's taxonomy id."""

    __tablename__ = "oruk_taxonomy"

    vocabulary: Mapped[str] = mapped_column(String(50), primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    uri: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("uuid", name="uq_oruk_taxonomy_uuid"),)


class BulkUpload(Base):
    """A spreadsheet or GeoJSON a planner uploaded: its parsed rows, the column mapping chosen,
    the check before committing, and the progress and outcome of the commit."""

    __tablename__ = "bulk_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())
    file_name: Mapped[str] = mapped_column(String(300))
    file_format: Mapped[str] = mapped_column(String(10))  # csv, xlsx, geojson
    file_size: Mapped[int] = mapped_column(BigInteger)
    encoding: Mapped[str | None] = mapped_column(String(30))
    source_key: Mapped[str] = mapped_column(String(60))  # scopes the rows' ids: "<source_key>/<id>"
    header: Mapped[list] = mapped_column(JSONB)
    # [[line, [cell, ...], why the row cannot be read whole or None], ...]; loaded only when used.
    rows: Mapped[list] = mapped_column(JSONB, deferred=True)
    file_notes: Mapped[list] = mapped_column(JSONB, default=list)
    mapping: Mapped[dict | None] = mapped_column(JSONB)
    options: Mapped[dict | None] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(String(20), default="uploaded", server_default="uploaded")
    check_report: Mapped[dict | None] = mapped_column(JSONB)
    progress_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    progress_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_run.id"))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("state IN ('uploaded', 'checked', 'committing', 'committed', 'failed')",
                        name="ck_bulk_upload_state"),
        Index("ix_bulk_upload_user", "user_id", "created_at"),
    )


class GapRun(Base):
    """One gap analysis: its parameters, and whether it is the current one for them.

    ``params`` holds ``lad`` (a local authority code, or ``"all"``), ``category`` (asset-type
    slug), ``indicator``, ``group``, ``radius_m`` and ``decay``. ``box_xmin..box_ymax`` bound, in
    EPSG:27700, where an asset counts for the run (NULL: anywhere). See :mod:`assetmap.db.gap_runs`.
    """

    __tablename__ = "gap_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    params: Mapped[dict] = mapped_column(JSONB)
    term_id: Mapped[int] = mapped_column(ForeignKey("taxonomy_term.id", ondelete="CASCADE"))
    lad_code: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="current", server_default="current")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    box_xmin: Mapped[float | None] = mapped_column(Float)
    box_ymin: Mapped[float | None] = mapped_column(Float)
    box_xmax: Mapped[float | None] = mapped_column(Float)
    box_ymax: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")

    __table_args__ = (
        CheckConstraint("status IN ('running', 'current', 'superseded', 'failed')", name="ck_gap_run_status"),
        Index("uq_gap_run_current_params", "params", unique=True, postgresql_where="status = 'current'"),
        Index("ix_gap_run_term", "term_id", "status"),
    )


class GapScore(Base):
    """Provision (access) and gap of one area in one run: the access score and the gap score
    share their key and are always read together, so they are one row."""

    __tablename__ = "gap_score"

    run_id: Mapped[int] = mapped_column(ForeignKey("gap_run.id", ondelete="CASCADE"), primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="CASCADE"), primary_key=True)
    term_id: Mapped[int] = mapped_column(Integer)
    population: Mapped[float | None] = mapped_column(Float)
    provision: Mapped[float] = mapped_column(Float)  # raw (E)2SFCA score per person
    nearest_m: Mapped[float | None] = mapped_column(Float)
    need_value: Mapped[float | None] = mapped_column(Float)
    need_pct: Mapped[float | None] = mapped_column(Float)
    provision_pct: Mapped[float | None] = mapped_column(Float)
    gap: Mapped[float | None] = mapped_column(Float)
    bivariate_class: Mapped[str] = mapped_column("class", String(40))

    __table_args__ = (Index("ix_gap_score_area", "area_id", "term_id"),)


class GapSupply(Base):
    """An asset a run counted, with the position (EPSG:27700) and capacity it had then."""

    __tablename__ = "gap_supply"

    run_id: Mapped[int] = mapped_column(ForeignKey("gap_run.id", ondelete="CASCADE"), primary_key=True)
    asset_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    capacity: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_gap_supply_asset", "asset_id"),)


class AreaPoint(Base):
    """An area's population point: ``ST_PointOnSurface`` of its polygon in EPSG:27700.
    ``geom_md5`` is the hash of the polygon it was made from (refreshed when that changes)."""

    __tablename__ = "area_point"

    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="CASCADE"), primary_key=True)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    pt = mapped_column(Geometry("POINT", srid=27700, spatial_index=False), nullable=False)
    geom_md5: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("ix_area_point_pt", "pt", postgresql_using="gist"),)


class AreaTileGeom(Base):
    """An area's outline in EPSG:3857, generalised for low, middle and high zooms (vector tiles)."""

    __tablename__ = "area_tile_geom"

    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="CASCADE"), primary_key=True)
    geom_lo = mapped_column(Geometry(srid=3857, spatial_index=False), nullable=False)
    geom_mid = mapped_column(Geometry(srid=3857, spatial_index=False), nullable=False)
    geom_hi = mapped_column(Geometry(srid=3857, spatial_index=False), nullable=False)
    geom_md5: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_area_tile_geom_lo", "geom_lo", postgresql_using="gist"),
        Index("ix_area_tile_geom_mid", "geom_mid", postgresql_using="gist"),
        Index("ix_area_tile_geom_hi", "geom_hi", postgresql_using="gist"),
    )
