"""Stable identities for what an import brings in.

An imported asset's UUID derives from its source and its id there (UUIDv5 in the project's
namespace, :data:`assetmap.domain.oruk.NAMESPACE`), so rebuilding the database from the same
files gives the same ids in the API and the Open Referral UK feed. Assets people add keep random
UUIDs; an Open Referral UK import keeps the feed's own ids.

No Flask and no SQL here.
"""
from __future__ import annotations

import uuid

from assetmap.domain.oruk import NAMESPACE

__all__ = ["imported_asset_uuid", "imported_organisation_uuid"]


def imported_asset_uuid(source: str, source_id: str) -> uuid.UUID:
    """The UUID of the asset ``source_id`` of ``source``.

    Examples
    --------
    >>> imported_asset_uuid("libraries", "Shropshire/Oswestry") == imported_asset_uuid("libraries", "Shropshire/Oswestry")
    True
    >>> imported_asset_uuid("libraries", "a").version
    5
    >>> imported_asset_uuid("libraries", "a") == imported_asset_uuid("upload", "a")
    False
    """
    return uuid.uuid5(NAMESPACE, f"asset:{source}:{source_id}")


def imported_organisation_uuid(source: str, source_id: str) -> uuid.UUID:
    """The UUID of the organisation ``source_id`` (its key there) that ``source`` names.

    Examples
    --------
    >>> imported_organisation_uuid("nhsbsa-pharmacies", "BOOTS UK LIMITED").version
    5
    """
    return uuid.uuid5(NAMESPACE, f"organisation:{source}:{source_id}")
