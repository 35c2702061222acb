"""An area profile: what is inside a neighbourhood and within reach of it, how its need compares
with its local authority's, where provision falls short, and how provision changed over time.

Plain Python (pandas and shapely): no Flask and no SQL. The database work is in
:mod:`assetmap.db.profile_queries`; this module checks a custom area someone drew or uploaded, and
turns the rows the queries return into the figures a profile shows.

How a profile counts its small areas
------------------------------------
Indicators and populations are published per LSOA. A profile is of one vintage
(:mod:`assetmap.domain.vintages`): by default IoD 2025 on LSOA 2021 with Census 2021 populations,
or IoD 2019 on LSOA 2011 with mid-2015 ones; never a mix. A profile's LSOAs, of its vintage, are
those its outline overlaps, each weighted by its population times the share of its area inside the outline (areal
weighting): an LSOA wholly inside counts fully, one half inside counts half. An LSOA, a list of
LSOAs or a local authority counts its own LSOAs whole.

Need against the local authority
--------------------------------
For each indicator every LSOA of the local authority gets a need percentile among the
authority's LSOAs (0 = least need, 100 = most; IoD ranks are turned round, as rank 1 is the most
deprived; :func:`assetmap.domain.gap_ranks.percentile_rank`). The profile's need is the weighted mean
of its LSOAs' percentiles, and the authority's the population-weighted mean of all of them (near
50 by construction). On the radar chart further out means more need, whatever the indicator.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from assetmap.domain import gap_ranks
from assetmap.domain.geojson_crs import check_crs, grid_to_lonlat_xy, looks_like_grid
from assetmap.domain.validation import in_uk
from assetmap.errors import BadInputError

__all__ = [
    "MAX_UPLOAD_BYTES",
    "MAX_VERTICES",
    "RADAR_AXES",
    "aggregate_gaps",
    "compare_indicators",
    "display_outline",
    "indicator_table",
    "main_lad",
    "parse_custom_area",
    "profile_weights",
    "quarter_label",
    "quarter_rows",
    "radar_axes",
    "read_towns",
]

#: Largest GeoJSON text accepted for a custom area.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
#: Most coordinates accepted in a custom area (a drawn polygon has tens).
MAX_VERTICES = 50_000

#: Indicators on the radar chart of each vintage (:mod:`assetmap.domain.vintages`), with the
#: short label each axis carries, in order round the chart: the IMD and its seven domains (ranks,
#: rank 1 = most deprived), then children and older people: IoD 2019's population shares (more =
#: more need), IoD 2025's IDACI and IDAOPI ranks (File 3).
RADAR_AXES: Mapping[int, Mapping[str, str]] = {
    2019: {
        "imd_rank": "IMD",
        "income_rank": "Income",
        "employment_rank": "Employment",
        "education_rank": "Education",
        "health_rank": "Health",
        "crime_rank": "Crime",
        "barriers_rank": "Barriers",
        "living_environment_rank": "Environment",
        "share_0_15": "Children",
        "share_60_plus": "Aged 60+",
    },
    2025: {
        "imd_rank_2025": "IMD",
        "income_rank_2025": "Income",
        "employment_rank_2025": "Employment",
        "education_rank_2025": "Education",
        "health_rank_2025": "Health",
        "crime_rank_2025": "Crime",
        "barriers_rank_2025": "Barriers",
        "living_environment_rank_2025": "Environment",
        "idaci_rank_2025": "Children",
        "idaopi_rank_2025": "Older people",
    },
}

#: Indicators not compared with the authority: a count, not a need. IoD deciles and scores are
#: left out too (:data:`_REPEATS_A_RANK`), as they repeat the ranks, coarsely or on another scale.
NOT_COMPARED = frozenset({"population"})
_REPEATS_A_RANK = re.compile(r"_(decile|score)(_\d{4})?$")

#: An LSOA touching a custom outline by less than this share of its own area, and covering less
#: than this share of the outline, is a sliver where generalised boundaries disagree, not a part.
SLIVER_SHARE = 0.01

_REASON_POINT = re.compile(r"\[(-?[\d.eE+-]+) (-?[\d.eE+-]+)\]")


# --- custom areas --------------------------------------------------------------------------
def parse_custom_area(text: str | bytes) -> MultiPolygon:
    """Check a drawn or uploaded GeoJSON area and return it as a shapely MultiPolygon (lon/lat).

    Accepts a Polygon or MultiPolygon geometry, a Feature holding one, or a FeatureCollection
    of them (the parts are merged). Coordinates are WGS84 longitude/latitude, as GeoJSON
    (RFC 7946) requires, unless a ``crs`` member declares British National Grid, which is
    converted (:func:`assetmap.domain.geojson_crs.check_crs`). Nothing is repaired: an invalid
    polygon is refused with the reason, because a "fixed" shape may not be the area the person meant.

    Parameters
    ----------
    text : str or bytes
        The GeoJSON text, at most :data:`MAX_UPLOAD_BYTES`.

    Returns
    -------
    shapely.geometry.MultiPolygon

    Raises
    ------
    BadInputError
        With a message saying what is wrong and what to do: not JSON, not an area (a point or
        a line), a CRS other than WGS84 or British National Grid, grid metres undeclared,
        latitude/longitude swapped, an
        invalid polygon (self-intersection and where), empty, or too large a file.

    Examples
    --------
    >>> area = parse_custom_area('{"type": "Polygon", "coordinates": '
    ...                          '[[[-3.06, 52.85], [-3.04, 52.85], [-3.04, 52.87], [-3.06, 52.85]]]}')
    >>> area.geom_type, len(area.geoms)
    ('MultiPolygon', 1)
    >>> parse_custom_area('{"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}')
    ... # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    assetmap.errors.BadInputError: The area's outline is not a valid polygon: Self-intersection at 0.5, 0.5
    (longitude, latitude). It was not repaired, so that the profile is of the area you meant: redraw it so that
    its edges do not cross.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_UPLOAD_BYTES:
            raise BadInputError(_too_big(len(text)))
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadInputError("The file is not GeoJSON text (it is not UTF-8).") from None
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: no file or form could have sent it as UTF-8
        raise BadInputError("The area is not GeoJSON text (it is not UTF-8).") from None
    if size > MAX_UPLOAD_BYTES:
        raise BadInputError(_too_big(size))
    if not text.strip():
        raise BadInputError("No area was given: draw one on the map, paste GeoJSON or choose a file.")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(
            f"The area is not valid GeoJSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except RecursionError:  # "[[[[..." nested deeper than the parser goes
        raise BadInputError("The area is not valid GeoJSON: it is nested too deeply.") from None
    except ValueError:  # a whole number of thousands of digits, more than Python reads
        raise BadInputError("The area is not valid GeoJSON: it holds a number too long to read.") from None
    if not isinstance(doc, dict) or "type" not in doc:
        raise BadInputError("The area is not GeoJSON: expected an object with a \"type\".")
    grid = check_crs(doc)
    polygons = [_polygon_parts(geom, where) for geom, where in _geometries(doc)]
    parts = [p for group in polygons for p in group]
    if not parts:
        raise BadInputError("The GeoJSON holds no polygon: draw or upload an area.")
    n_vertices = sum(len(p.exterior.coords) + sum(len(r.coords) for r in p.interiors) for p in parts)
    if n_vertices > MAX_VERTICES:
        raise BadInputError(
            f"The outline has {n_vertices:,} points; at most {MAX_VERTICES:,} are accepted. Simplify it first."
        )
    if grid is not None:
        parts = [shapely.transform(p, grid_to_lonlat_xy) for p in parts]
    _check_lonlat(parts)
    for i, polygon in enumerate(parts):
        reason = shapely.is_valid_reason(polygon)
        if reason != "Valid Geometry":
            which = f" (part {i + 1})" if len(parts) > 1 else ""
            raise BadInputError(
                f"The area's outline{which} is not a valid polygon: {_readable_reason(reason)}. It was not "
                "repaired, so that the profile is of the area you meant: redraw it so that its edges do not cross."
            )
    merged = shapely.union_all(parts) if len(parts) > 1 else parts[0]
    if isinstance(merged, Polygon):
        merged = MultiPolygon([merged])
    if not isinstance(merged, MultiPolygon) or merged.is_empty or merged.area == 0:
        raise BadInputError("The area has no extent: draw an outline with at least three corners.")
    return merged


def _too_big(n: int) -> str:
    return f"The file is {n / 1024 / 1024:.1f} MB; areas of up to {MAX_UPLOAD_BYTES // 1024 // 1024} MB are accepted."


def _geometries(doc: dict) -> Iterable[tuple[dict, str]]:
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list) or not features:
            raise BadInputError("The FeatureCollection has no features.")
        for i, feature in enumerate(features):
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                raise BadInputError(f"Item {i + 1} of the FeatureCollection is not a Feature.")
            yield feature.get("geometry"), f"feature {i + 1}"
    elif kind == "Feature":
        yield doc.get("geometry"), "the feature"
    else:
        yield doc, "the geometry"


def _polygon_parts(geom, where: str) -> list[Polygon]:
    if not isinstance(geom, dict):
        raise BadInputError(f"{where.capitalize()} has no geometry.")
    kind = geom.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise BadInputError(
            f"{where.capitalize()} is a {kind or 'shape of no type'}, not an area:"
            " draw or upload a Polygon or MultiPolygon."
        )
    try:
        shp = shape(geom)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError,
            shapely.errors.GEOSException) as exc:
        raise BadInputError(f"{where.capitalize()} has unreadable coordinates ({exc}).") from None
    if shp.is_empty:
        return []
    return list(shp.geoms) if isinstance(shp, MultiPolygon) else [shp]


def _check_lonlat(parts: Sequence[Polygon]) -> None:
    minx, miny, maxx, maxy = shapely.total_bounds(parts)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise BadInputError("The area has coordinates that are not numbers.")
    if minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90:
        if in_uk(miny, minx) and in_uk(maxy, maxx):
            raise BadInputError(
                "The coordinates look like latitude, longitude: GeoJSON puts longitude first "
                "([-2.75, 52.7], not [52.7, -2.75]). Swap them and try again."
            )
        return
    if looks_like_grid(minx, miny, maxx, maxy):
        raise BadInputError(
            f"The coordinates ({minx:.0f}, {miny:.0f}) look like British National Grid metres (EPSG:27700). "
            "GeoJSON areas must be in WGS84 longitude/latitude: re-export the file as EPSG:4326."
        )
    raise BadInputError(
        f"The coordinates ({minx:g}, {miny:g}) are not longitude/latitude; re-export the area in WGS84 (EPSG:4326)."
    )


def _readable_reason(reason: str) -> str:
    """GEOS's reason, with the point written as "at lon, lat"."""
    match = _REASON_POINT.search(reason)
    if not match:
        return reason
    lon, lat = float(match.group(1)), float(match.group(2))
    return f"{reason[:match.start()]} at {lon:.5g}, {lat:.5g} (longitude, latitude)"


def display_outline(geometry: Mapping, min_area: float = 1e-6, close: float = 2e-5) -> dict:
    """An outline for the map without the crumbs a union of generalised boundaries leaves.

    Generalised LSOA outlines do not share every vertex, so their union keeps hairline gaps as
    slits, holes and slivers; drawn, they look like boundaries inside the area. Gaps narrower
    than about ``2 * close`` degrees (a few metres) are closed (a buffer out and back, mitred),
    then holes and parts smaller than ``min_area`` (square degrees; 1e-6 is about 0.7 ha in
    England) are dropped. For display only: the counts use the outline as it is.

    Examples
    --------
    >>> ring = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    >>> hole = [[0.5, 0.5], [0.5, 0.5001], [0.5001, 0.5001], [0.5, 0.5]]
    >>> crumb = [[[2, 2], [2.0001, 2], [2, 2.0001], [2, 2]]]
    >>> display_outline({"type": "MultiPolygon", "coordinates": [[ring, hole], crumb]}, close=0)["coordinates"]
    [[[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]]]
    """
    geom = shape(geometry)
    if close:
        geom = geom.buffer(close, join_style="mitre").buffer(-close, join_style="mitre")
    polygons = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    kept = [
        Polygon(p.exterior, [r for r in p.interiors if Polygon(r).area >= min_area])
        for p in polygons if isinstance(p, Polygon) and p.area >= min_area
    ]
    if not kept:
        return dict(geometry)
    return json.loads(shapely.to_geojson(MultiPolygon(kept)))


# --- small areas and their weights ------------------------------------------------------------
def profile_weights(lsoas: Sequence[Mapping]) -> pd.DataFrame:
    """The profile's LSOAs with their weights: population times the share inside the outline.

    Parameters
    ----------
    lsoas : sequence of mappings
        Rows with ``code``, ``name``, ``lad_code``, ``population``, ``share`` (0-1, the share of
        the LSOA's area inside the profile's outline) and ``share_of_area`` (0-1, the share of
        the outline that lies in the LSOA).

    Returns
    -------
    pandas.DataFrame
        Indexed by code, sorted by code, with a ``weight`` column; slivers (both shares below
        :data:`SLIVER_SHARE`) are left out unless nothing else is left.

    Examples
    --------
    >>> rows = [dict(code="E01A", name="A", lad_code="L", population=1500, share=1.0, share_of_area=0.6),
    ...         dict(code="E01B", name="B", lad_code="L", population=2000, share=0.5, share_of_area=0.4),
    ...         dict(code="E01C", name="C", lad_code="L", population=1800, share=0.002, share_of_area=0.001)]
    >>> profile_weights(rows)["weight"].to_dict()
    {'E01A': 1500.0, 'E01B': 1000.0}
    """
    columns = ["code", "name", "lad_code", "population", "share", "share_of_area"]
    frame = pd.DataFrame(list(lsoas), columns=columns)
    if frame.empty:
        return frame.assign(weight=pd.Series(dtype=float)).set_index("code")
    frame["share"] = frame["share"].astype(float).clip(0, 1)
    frame["share_of_area"] = frame["share_of_area"].astype(float).clip(0, 1)
    real = (frame["share"] >= SLIVER_SHARE) | (frame["share_of_area"] >= SLIVER_SHARE)
    if real.any():
        frame = frame[real]
    frame["population"] = frame["population"].astype(float)
    frame["weight"] = frame["population"].fillna(0.0) * frame["share"]
    return frame.sort_values("code").set_index("code")


def main_lad(weights: pd.DataFrame) -> str:
    """The local authority holding most of the weight: the ``lad_code`` whose LSOAs' ``weight``
    adds up to most (the first code on a tie).

    Examples
    --------
    >>> main_lad(pd.DataFrame({"lad_code": ["B", "A", "B"], "weight": [10.0, 25.0, 20.0]}))
    'B'
    """
    return str(weights.groupby("lad_code")["weight"].sum().idxmax())


# --- indicators against the local authority -------------------------------------------------
def indicator_table(indicators: Sequence[Mapping], rows: Iterable[Sequence]) -> tuple[list[dict], pd.DataFrame]:
    """LSOA indicator values, one row per LSOA and a column per indicator.

    Parameters
    ----------
    indicators : sequence of mappings
        The indicators' definitions, each with a ``key``.
    rows : iterable of (code, lad_code, population, key, value)
        One per LSOA and indicator value (``key`` None for an LSOA without any).

    Returns
    -------
    (list of dict, pandas.DataFrame)
        The indicators but ``population`` (the IoD File 6 count is the LSOA's own population
        column already); and ``code, lad_code, population`` and a column per indicator key (NaN
        where the LSOA has no value), by code.

    Examples
    --------
    >>> kept, frame = indicator_table([{"key": "imd_rank"}, {"key": "population"}, {"key": "idaci"}],
    ...                               [("E01B", "L", 1500, "imd_rank", 10.0), ("E01A", "L", 1200, None, None),
    ...                                ("E01B", "L", 1500, "population", 1500.0)])
    >>> [i["key"] for i in kept], list(frame.columns)
    (['imd_rank', 'idaci'], ['code', 'lad_code', 'population', 'imd_rank', 'idaci'])
    >>> frame["code"].tolist(), frame["imd_rank"].tolist()
    (['E01A', 'E01B'], [nan, 10.0])
    """
    long = pd.DataFrame(list(rows), columns=["code", "lad_code", "population", "key", "value"])
    base = long[["code", "lad_code", "population"]].drop_duplicates("code").set_index("code")
    # The "population" indicator (IoD File 6) is the area's own population column already.
    wide = long[long["key"].notna() & (long["key"] != "population")].pivot(index="code", columns="key", values="value")
    frame = base.join(wide).reset_index().sort_values("code", kind="stable")
    indicators = [dict(i) for i in indicators if i["key"] != "population"]
    for ind in indicators:
        if ind["key"] not in frame.columns:
            frame[ind["key"]] = float("nan")
    return indicators, frame.reset_index(drop=True)


def compare_indicators(indicators: Sequence[Mapping], values: pd.DataFrame, weights: pd.Series,
                       lad_code: str, axes: Mapping[str, str] = RADAR_AXES[2019]) -> list[dict]:
    """Each indicator for the profile and for its local authority, as values and need percentiles.

    Parameters
    ----------
    indicators : sequence of mappings
        ``key``, ``label``, ``unit`` and ``higher_is_more_need`` of each indicator (any other
        item, such as ``year`` and ``geography``, is passed through).
    values : pandas.DataFrame
        One row per LSOA of the local authorities concerned: ``code``, ``lad_code``,
        ``population`` and a column per indicator key (NaN = no data). Deciles, scores and
        :data:`NOT_COMPARED` are skipped; the ``axes`` come first, the rest by key.
    weights : pandas.Series
        The profile's LSOA weights indexed by code (see :func:`profile_weights`).
    lad_code : str
        The authority to compare with.
    axes : mapping
        The radar chart's indicators of the vintage (one of :data:`RADAR_AXES`).

    Returns
    -------
    list of dict
        Per indicator: its own items (``key``, ``label``, ``unit``, ``higher_is_more_need``...), ``value`` (the
        profile's weighted mean), ``la_value`` (the authority's population-weighted mean),
        ``need_pct`` and ``la_need_pct`` (weighted means of LSOA need percentiles within their
        own authority, 100 = most need), ``no_data`` (profile LSOAs without a value) and
        ``direction`` ("more need", "less need" or "about the same", within 5 points).

    Examples
    --------
    Three LSOAs ranked 1 (most deprived), 2 and 3 in one authority; the profile is the first.

    >>> import pandas as pd
    >>> values = pd.DataFrame({"code": ["a", "b", "c"], "lad_code": "L", "population": [100, 100, 100],
    ...                        "imd_rank": [1, 2, 3]})
    >>> row = compare_indicators([dict(key="imd_rank", label="IMD", unit="rank", higher_is_more_need=False)],
    ...                          values, pd.Series({"a": 100.0}), "L")[0]
    >>> row["value"], row["la_value"], row["need_pct"], row["la_need_pct"], row["direction"]
    (1.0, 2.0, 100.0, 50.0, 'more need')
    """
    frame = values.set_index("code")
    la = frame[frame["lad_code"] == lad_code]
    order = list(axes)
    indicators = sorted(
        (i for i in indicators if i["key"] not in NOT_COMPARED and not _REPEATS_A_RANK.search(i["key"])),
        key=lambda i: (order.index(i["key"]) if i["key"] in order else len(order), i["key"]),
    )
    in_profile = weights[weights.index.isin(frame.index)]
    rows = []
    for ind in indicators:
        key = ind["key"]
        if key not in frame.columns:
            continue
        column = frame[key].astype(float)
        pct = column.groupby(frame["lad_code"], group_keys=False).apply(
            lambda s, higher=bool(ind["higher_is_more_need"]): gap_ranks.percentile_rank(s, higher)
        ).reindex(frame.index)
        la_pop = la["population"].astype(float)
        row = {
            **ind,
            "unit": ind.get("unit"),
            "higher_is_more_need": bool(ind["higher_is_more_need"]),
            "value": _weighted(column.reindex(in_profile.index), in_profile),
            "la_value": _weighted(column.reindex(la.index), la_pop),
            "need_pct": _weighted(pct.reindex(in_profile.index), in_profile),
            "la_need_pct": _weighted(pct.reindex(la.index), la_pop),
            "no_data": int(column.reindex(in_profile.index).isna().sum()),
        }
        row["direction"] = _direction(row["need_pct"], row["la_need_pct"])
        rows.append(row)
    return rows


def _weighted(values: pd.Series, weights: pd.Series) -> float | None:
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    usable = ~(np.isnan(v) | np.isnan(w))
    total = w[usable].sum()
    if not usable.any() or total <= 0:
        return None
    return float((v[usable] * w[usable]).sum() / total)


def _direction(pct: float | None, la_pct: float | None, band: float = 5.0) -> str | None:
    if pct is None or la_pct is None:
        return None
    if pct - la_pct > band:
        return "more need"
    if la_pct - pct > band:
        return "less need"
    return "about the same"


def radar_axes(rows: Sequence[Mapping], axes: Mapping[str, str] = RADAR_AXES[2019]) -> list[dict]:
    """The radar chart's axes: the ``axes`` indicators (one of :data:`RADAR_AXES`) among ``rows``, in that order.

    Each axis has ``key``, ``label`` (short), ``title`` (the indicator's full label), ``value``
    (the profile's need percentile) and ``reference`` (the authority's); None where no data.

    Examples
    --------
    >>> radar_axes([dict(key="share_0_15", label="Children", need_pct=70.0, la_need_pct=50.2),
    ...             dict(key="imd_rank", label="IMD rank", need_pct=None, la_need_pct=49.9)])
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'key': 'imd_rank', 'label': 'IMD', 'title': 'IMD rank', 'value': None, 'reference': 49.9},
     {'key': 'share_0_15', 'label': 'Children', 'title': 'Children', 'value': 70.0, 'reference': 50.2}]
    """
    by_key = {r["key"]: r for r in rows}
    return [
        {"key": key, "label": short, "title": by_key[key]["label"],
         "value": by_key[key]["need_pct"], "reference": by_key[key]["la_need_pct"]}
        for key, short in axes.items() if key in by_key
    ]


# --- gaps ------------------------------------------------------------------------------------
def aggregate_gaps(per_lsoa: pd.DataFrame, weights: pd.Series) -> dict:
    """A profile's need, provision and gap for one category from its LSOAs' percentiles.

    Weighted means of ``need_pct``, ``provision_pct`` and ``gap`` over the profile's LSOAs (the
    gap map's population-weighted aggregation, with the profile's areal weights), the bivariate
    class of the two means, and how many of the LSOAs are "high need, low provision".

    Examples
    --------
    >>> import pandas as pd
    >>> per = pd.DataFrame({"need_pct": [90.0, 70.0], "provision_pct": [10.0, 30.0], "gap": [80.0, 40.0]},
    ...                    index=["a", "b"])
    >>> out = aggregate_gaps(per, pd.Series({"a": 300.0, "b": 100.0}))
    >>> out["need_pct"], out["provision_pct"], out["gap"], out["class"], out["high_need_low_provision"]
    (85.0, 15.0, 70.0, 'high-need/low-provision', 2)
    """
    in_profile = weights[weights.index.isin(per_lsoa.index)]
    part = per_lsoa.reindex(in_profile.index)
    need = _weighted(part["need_pct"], in_profile)
    provision = _weighted(part["provision_pct"], in_profile)
    gap_value = _weighted(part["gap"], in_profile)
    classes = gap_ranks.bivariate_classes(part["need_pct"], part["provision_pct"])
    return {
        "need_pct": need,
        "provision_pct": provision,
        "gap": gap_value,
        "class": gap_ranks.bivariate_class(np.nan if need is None else need,
                                           np.nan if provision is None else provision),
        "high_need_low_provision": int((classes == "high-need/low-provision").sum()),
        "lsoas": int(part["gap"].notna().sum()),
    }


# --- provision over time -----------------------------------------------------------------------
def quarter_label(start: date) -> str:
    """ "2024 Q1" for a quarter starting on ``start``.

    >>> from datetime import date
    >>> quarter_label(date(2024, 10, 1))
    '2024 Q4'
    """
    return f"{start.year} Q{(start.month - 1) // 3 + 1}"


def quarter_rows(rows: Sequence[Mapping]) -> list[dict]:
    """Quarterly rows from :func:`assetmap.db.profile_queries.quarterly_published`, labelled, oldest first.

    Each row gets ``label`` and ``change`` (published at the end minus at the end of the
    quarter before; the first quarter counts from zero).

    >>> from datetime import date
    >>> quarter_rows([dict(quarter=date(2024, 4, 1), published=5, added=1, removed=0),
    ...               dict(quarter=date(2024, 1, 1), published=4, added=4, removed=0)])
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'quarter': datetime.date(2024, 1, 1), 'published': 4, 'added': 4, 'removed': 0, 'label': '2024 Q1', 'change': 4},
     {'quarter': datetime.date(2024, 4, 1), 'published': 5, 'added': 1, 'removed': 0, 'label': '2024 Q2', 'change': 1}]
    """
    out, before = [], 0
    for row in sorted(rows, key=lambda r: r["quarter"]):
        item = dict(row)
        item["label"] = quarter_label(row["quarter"])
        item["change"] = int(row["published"]) - before
        before = int(row["published"])
        out.append(item)
    return out


# --- towns ----------------------------------------------------------------------------------
def read_towns(spec: Mapping) -> list[dict]:
    """Check the towns file (``data/towns.json``, already parsed) and return its towns.

    Each town has ``code`` (at most 20 characters), ``name``, ``lad_code`` and ``wards`` as
    ``[code, name]`` pairs.

    Raises
    ------
    ValueError
        Naming the town and what is missing or repeated.

    Examples
    --------
    >>> read_towns({"towns": [{"code": "town-x", "name": "X", "lad_code": "E06000051",
    ...                        "wards": [["E05000001", "X North"]]}]})[0]["wards"]
    [('E05000001', 'X North')]
    """
    towns, seen = [], set()
    for i, town in enumerate(spec.get("towns") or []):
        label = town.get("name") or f"town {i + 1}"
        for key in ("code", "name", "lad_code", "wards"):
            if not town.get(key):
                raise ValueError(f"{label}: no {key!r}")
        if len(town["code"]) > 20:
            raise ValueError(f"{label}: code {town['code']!r} is longer than 20 characters")
        if town["code"] in seen:
            raise ValueError(f"{label}: code {town['code']!r} is used twice")
        seen.add(town["code"])
        wards = [(str(code), str(name)) for code, name in town["wards"]]
        if len({c for c, _ in wards}) != len(wards):
            raise ValueError(f"{label}: a ward is listed twice")
        towns.append({"code": town["code"], "name": town["name"], "lad_code": town["lad_code"], "wards": wards})
    if not towns:
        raise ValueError("the towns file defines no towns")
    return towns
