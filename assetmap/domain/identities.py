"""Stable identities for what an import brings in.

An imported asset's UUID derives from its source and its id there (UUIDv5 in the project's
namespace, :data:`assetmap.domain.oruk_common.NAMESPACE`), so rebuilding the database from the same
files gives the same ids in the API and the Open Referral UK feed. Assets people add keep random
UUIDs; an Open Referral UK import keeps the feed's own ids.

No Flask and no SQL here.
"""
from __future__ import annotations

import uuid

from assetmap.domain.oruk_common import NAMESPACE

__all__ = ["imported_asset_uuid", "organisation_uuid"]


def imported_asset_uuid(source: str, source_id: str) -> uuid.UUID:
    """The UUID of the asset ``source_id`` of ``source``.

    Examples
    --------
    >>> (imported_asset_uuid("libraries", "Shropshire/Oswestry")
    ...  == imported_asset_uuid("libraries", "Shropshire/Oswestry"))
    True
    >>> imported_asset_uuid("libraries", "a").version
    5
    >>> imported_asset_uuid("libraries", "a") == imported_asset_uuid("upload", "a")
    False
    """
    return uuid.uuid5(NAMESPACE, f"asset:{source}:{source_id}")


def organisation_uuid(source: str, key: str) -> uuid.UUID:
    """The UUID of the organisation that ``source`` names by ``key`` (its identifier there, e.g.
    ``ODS-M82002`` or ``GB-CHC-1143519``, or its name when the source gives no identifier).

    Examples
    --------
    >>> organisation_uuid("libraries", "Shropshire library service") == organisation_uuid(
    ...     "libraries", "Shropshire library service")
    True
    >>> organisation_uuid("epraccur", "ODS-M82002") != organisation_uuid("nhsbsa-pharmacies", "ODS-M82002")
    True
    >>> organisation_uuid("givefood", "GB-CHC-1143519").version
    5
    """
    return uuid.uuid5(NAMESPACE, f"organisation:{source}:{key}")
