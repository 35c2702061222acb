"""The data model, aligned with Open Referral UK / HSDS where it fits.

Geometries are stored in EPSG:4326 with GiST indexes; distances in metres are computed on
geography or on EPSG:27700 in the query modules.
"""
from __future__ import annotations

import enum
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
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
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


AREA_LEVELS = ("lsoa", "msoa", "ward", "lad", "town", "custom")


class User(Base):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, name="user_role"), default=Role.volunteer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


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
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())

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

    parent: Mapped["TaxonomyTerm | None"] = relationship(remote_side=[id])

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
    access_modes: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)  # drop_in, booking, referral, self_referral
    age_groups: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)  # children, adults, older
    eligibility_note: Mapped[str | None] = mapped_column(Text)
    accessibility: Mapped[list[str]] = mapped_column(ARRAY(String(30)), default=list)  # step_free, hearing_loop, accessible_toilet
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
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)

    organisation: Mapped[Organisation | None] = relationship()
    terms: Mapped[list[TaxonomyTerm]] = relationship(secondary=asset_term, order_by="TaxonomyTerm.sort_order")
    service_area: Mapped["Area | None"] = relationship()

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_asset_source"),
        Index("ix_asset_location", "location", postgresql_using="gist"),
        Index("ix_asset_status", "status"),
    )


class Area(Base):
    """A neighbourhood or administrative area: LSOA, MSOA, ward, local authority, town or custom."""

    __tablename__ = "area"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(10))
    lad_code: Mapped[str | None] = mapped_column(String(10), index=True)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    population: Mapped[float | None] = mapped_column(Float)
    pop_0_15: Mapped[float | None] = mapped_column(Float)
    pop_16_59: Mapped[float | None] = mapped_column(Float)
    pop_60_plus: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(String(50))

    __table_args__ = (
        CheckConstraint(f"level IN {AREA_LEVELS}", name="ck_area_level"),
        Index("ix_area_geom", "geom", postgresql_using="gist"),
        Index("ix_area_level", "level", "lad_code"),
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
    area_level: Mapped[str] = mapped_column(String(10), default="lsoa")


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
