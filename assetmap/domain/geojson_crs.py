"""Which coordinate systems a GeoJSON file may declare, and British National Grid to longitude/latitude.

GeoJSON (RFC 7946) is WGS84 longitude/latitude, and a file with no ``crs`` member is read so. Files
exported by older tools still carry the 2008 specification's ``crs`` member; every way a GeoJSON
file comes in (the bulk upload, a custom area for a profile, the command-line asset importer)
asks :func:`check_crs` what it says, so that they accept the same files:

- no ``crs``, or one naming WGS84 longitude/latitude in any of its spellings (``CRS84``,
  ``urn:ogc:def:crs:OGC:1.3:CRS84``, ``urn:ogc:def:crs:OGC::CRS84``, ``ogc:crs84``, ``EPSG:4326``,
  ``urn:ogc:def:crs:EPSG::4326``, the opengis.net addresses): read as it is;
- British National Grid (``EPSG:27700`` in any spelling, or a name saying "British National
  Grid"): converted with :func:`grid_to_lonlat`;
- anything else, or a ``crs`` member that names nothing: refused, saying what to do.

No Flask and no SQL here.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from assetmap.domain.validation import in_gb_grid
from assetmap.errors import AssetmapError, BadInputError

__all__ = ["check_crs", "crs_name", "grid_to_lonlat", "grid_to_lonlat_xy", "looks_like_grid"]

# The spellings of WGS84 longitude/latitude. EPSG:4326 is latitude first by the letter of its
# definition, but GeoJSON writers (GDAL among them) mean longitude first by it.
_WGS84 = re.compile(
    r"^(?:(?:ogc:)?crs84"
    r"|urn:ogc:def:crs:ogc:(?:1\.3)?:crs84"
    r"|https?://www\.opengis\.net/def/crs/ogc/1\.3/crs84"
    r"|epsg:4326|urn:ogc:def:crs:epsg:[\d.]*:4326"
    r"|https?://www\.opengis\.net/def/crs/epsg/0/4326)$"
)
_BNG = re.compile(
    r"^(?:epsg:27700|urn:ogc:def:crs:epsg:[\d.]*:27700|https?://www\.opengis\.net/def/crs/epsg/0/27700)$"
    r"|british national grid"
)
_EXAMPLE = '{"type": "name", "properties": {"name": "EPSG:27700"}}'


def crs_name(crs: Any, *, what: str = "The file", error: type[AssetmapError] = BadInputError) -> str | None:
    """The name a GeoJSON ``crs`` member gives (its ``name``, or a link's ``href``); None when
    there is no member.

    Raises
    ------
    error
        When the member is there but names nothing (not an object, ``properties`` not an
        object, no name).

    Examples
    --------
    >>> crs_name({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}})
    'urn:ogc:def:crs:EPSG::27700'
    >>> crs_name(None) is None
    True
    >>> crs_name({"type": "name", "properties": "EPSG:27700"})  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    assetmap.errors.BadInputError: The file has a crs member that does not name a coordinate system
    (write it as {"type": "name", "properties": {"name": "EPSG:27700"}}, or remove it for longitude/latitude).
    """
    if crs is None:
        return None
    props = crs.get("properties") if isinstance(crs, Mapping) else None
    name = (props.get("name") or props.get("href")) if isinstance(props, Mapping) else None
    if not isinstance(name, str) or not name.strip():
        raise error(f"{what} has a crs member that does not name a coordinate system (write it as {_EXAMPLE}, "
                    "or remove it for longitude/latitude).")
    return name.strip()


def check_crs(doc: Mapping, *, what: str = "The file", error: type[AssetmapError] = BadInputError) -> str | None:
    """What the top-level ``crs`` member of a GeoJSON object says about its coordinates.

    Parameters
    ----------
    doc : the GeoJSON object (a FeatureCollection, a Feature or a geometry)
    what : how the messages name the file (``"The file"``, ``"halls.geojson"``, ``"It"``)
    error : the error to raise (:class:`~assetmap.errors.ImportFileError` for importers)

    Returns
    -------
    str or None
        None when the coordinates are longitude/latitude already; else the name the file gives
        British National Grid, whose coordinates :func:`grid_to_lonlat` converts.

    Raises
    ------
    error
        For any other coordinate system, or a ``crs`` member that names none.

    Examples
    --------
    >>> def doc(name):
    ...     return {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": name}}}
    >>> [check_crs(doc(n)) for n in ("urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84",
    ...                              "ogc:crs84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326")]
    [None, None, None, None, None]
    >>> check_crs({"type": "FeatureCollection"}) is None
    True
    >>> check_crs(doc("urn:ogc:def:crs:EPSG::27700"))
    'urn:ogc:def:crs:EPSG::27700'
    >>> check_crs(doc("EPSG:3857"))  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    assetmap.errors.BadInputError: The file declares the coordinate system 'EPSG:3857', which is not known here,
    so it cannot be transformed to WGS84 longitude/latitude: re-export it in WGS84 (EPSG:4326)
    or British National Grid (EPSG:27700).
    """
    name = crs_name(doc.get("crs"), what=what, error=error)
    if name is None:
        return None
    key = name.lower()
    if _WGS84.match(key):
        return None
    if _BNG.search(key):
        return name
    said = name if len(name) <= 80 else name[:80] + "…"
    raise error(f"{what} declares the coordinate system {said!r}, which is not known here, so it cannot be "
                "transformed to WGS84 longitude/latitude: re-export it in WGS84 (EPSG:4326) or British "
                "National Grid (EPSG:27700).")


@lru_cache(maxsize=1)
def grid_to_lonlat():
    """The pyproj transformer from British National Grid metres to WGS84 longitude/latitude
    (``always_xy``: easting, northing in; longitude, latitude out).

    >>> lon, lat = grid_to_lonlat().transform(349_300, 312_600)  # Shrewsbury
    >>> round(lon, 2), round(lat, 2)
    (-2.75, 52.71)
    """
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def grid_to_lonlat_xy(xy: np.ndarray) -> np.ndarray:
    """Rows of (easting, northing) as rows of (longitude, latitude), for ``shapely.transform``."""
    lon, lat = grid_to_lonlat().transform(xy[:, 0], xy[:, 1])
    return np.column_stack((lon, lat))


def looks_like_grid(minx: float, miny: float, maxx: float, maxy: float) -> bool:
    """Whether coordinates with these bounds could be British National Grid metres (to say so
    when a file that declares nothing is not longitude/latitude).

    >>> looks_like_grid(329_000, 329_000, 331_000, 331_000), looks_like_grid(-3.1, 52.8, -3.0, 52.9)
    (True, False)
    """
    return in_gb_grid(minx, miny) and in_gb_grid(maxx, maxy)
