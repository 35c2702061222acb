"""Small builders for test rows, written through the ORM like the application does."""
from __future__ import annotations

from sqlalchemy import select

from assetmap.db.models import Asset, AssetStatus, TaxonomyTerm


def make_asset(session, name="Test place", lon=-3.0540, lat=52.8600, category="community-venue",
               status=AssetStatus.published, **fields) -> Asset:
    term = session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.vocabulary == "asset-type",
                                                      TaxonomyTerm.slug == category))
    asset = Asset(name=name, location=f"SRID=4326;POINT({lon} {lat})", status=status, source="test", **fields)
    if term is not None:
        asset.terms.append(term)
    session.add(asset)
    session.flush()
    return asset
