"""The map of an area's published assets: one layer per asset type, clustered, over the area's
outline. Takes plain data (EPSG:4326), returns a folium.Map; no database access here."""
from __future__ import annotations

from itertools import groupby

import folium
from folium.plugins import FastMarkerCluster

from assetmap.maps.escape import inert
from assetmap.maps.offline import make_map

# Colour-blind-safe palette (Okabe-Ito), cycled over asset types.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]


_MARKER_CALLBACK = """function (row) {
    var marker = L.circleMarker(new L.LatLng(row[0], row[1]), {
        radius: 7, color: "#ffffff", weight: 1.5, fillColor: "%s", fillOpacity: 0.95
    });
    marker.bindPopup(row[2], {maxWidth: 280});
    marker.bindTooltip(row[3]);
    return marker;
}"""


def asset_popup_html(asset: dict, url: str | None = None) -> str:
    """Popup content for one asset, every piece of text made inert."""
    lines = [f"<strong>{inert(asset['name'])}</strong>"]
    if asset.get("category_label"):
        lines.append(inert(asset["category_label"]))
    address = ", ".join(p for p in [asset.get("address"), asset.get("postcode")] if p)
    if address:
        lines.append(inert(address))
    if url:
        lines.append(f'<a href="{inert(url)}">Details</a>')
    return "<br>".join(lines)


def build_area_map(
    assets: list[dict],
    outline: dict | None,
    bounds: tuple[float, float, float, float] | None,
    *,
    tile_url: str | None,
    attribution: str | None,
    asset_url=None,
) -> folium.Map:
    """``assets`` are dicts with name, lat, lon, category, category_label (sorted by category);
    ``bounds`` is (west, south, east, north); ``asset_url(asset)`` gives each popup's link."""
    m = make_map(tile_url=tile_url, attribution=attribution, control_scale=True)
    if outline:
        folium.GeoJson(
            {"type": "Feature", "geometry": outline, "properties": {}},
            name="Area outline",
            style_function=lambda _: {"color": "#333333", "weight": 2, "fill": False},
            control=False,
        ).add_to(m)
    for i, (label, group) in enumerate(groupby(assets, key=lambda a: a.get("category_label") or "Other")):
        items = list(group)
        # One compact data array per layer (not one JavaScript block per marker): the page stays
        # small with thousands of points. Popup and tooltip text are made inert here, in Python.
        rows = [[a["lat"], a["lon"], asset_popup_html(a, asset_url(a) if asset_url else None), inert(a["name"])]
                for a in items]
        FastMarkerCluster(
            rows,
            callback=_MARKER_CALLBACK % PALETTE[i % len(PALETTE)],
            name=f"{inert(label)} ({len(items)})",
            options={"showCoverageOnHover": False, "maxClusterRadius": 40},
        ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if bounds:
        west, south, east, north = bounds
        m.fit_bounds([[south, west], [north, east]])
    return m
