"""Maps of the area profiles: the profiled area with the places inside it and within reach, and
the map a planner draws a custom area on. Plain data in (EPSG:4326), a folium.Map out; no
database access here."""
from __future__ import annotations

import folium
from folium.plugins import Draw, FastMarkerCluster

from assetmap.maps.area_map import asset_popup_html
from assetmap.maps.escape import inert
from assetmap.maps.offline import make_map

INSIDE_COLOUR, NEARBY_COLOUR = "#0072B2", "#D55E00"

_MARKER_CALLBACK = """function (row) {
    var marker = L.circleMarker(new L.LatLng(row[0], row[1]), {
        radius: 7, color: "%s", weight: 2, fillColor: "%s", fillOpacity: %s
    });
    marker.bindPopup(row[2], {maxWidth: 280});
    marker.bindTooltip(row[3]);
    return marker;
}"""


def _fit(m: folium.Map, bounds: tuple[float, float, float, float] | None) -> None:
    if bounds:
        west, south, east, north = bounds
        m.fit_bounds([[south, west], [north, east]])


def build_profile_map(
    outline: dict | None,
    assets: list[dict],
    bounds: tuple[float, float, float, float] | None,
    *,
    tile_url: str | None,
    attribution: str | None,
    data_attribution: str = "",
) -> folium.Map:
    """The profiled area's outline, its places (solid blue) and those within reach outside it
    (hollow vermilion), in two layers.

    Parameters
    ----------
    outline : dict or None
        GeoJSON geometry of the area.
    assets : list of dict
        ``name``, ``lat``, ``lon``, ``inside`` (bool), ``category_label``, ``address``,
        ``postcode``, ``distance_m`` (from the outline, for those outside).
    bounds : tuple or None
        (west, south, east, north) of the area; the map frames it and the places.
    """
    attribution_text = " | ".join(a for a in [attribution, inert(data_attribution)] if a)
    m = make_map(tile_url=tile_url, attribution=attribution_text or None, control_scale=True)
    if outline:
        folium.GeoJson(
            {"type": "Feature", "geometry": outline, "properties": {}},
            name="Area outline",
            style_function=lambda _: {"color": "#1a1a1a", "weight": 3, "fill": True, "fillColor": "#0072B2",
                                      "fillOpacity": 0.06},
            control=False,
        ).add_to(m)
    layers = (
        ("Inside the area", [a for a in assets if a["inside"]], INSIDE_COLOUR, INSIDE_COLOUR, 0.95),
        ("Within reach, outside", [a for a in assets if not a["inside"]], NEARBY_COLOUR, "#ffffff", 0.9),
    )
    for label, items, stroke, fill, opacity in layers:
        if not items:
            continue
        rows = []
        for a in items:
            popup = asset_popup_html(a)
            if not a["inside"] and a.get("distance_m") is not None:
                km = a["distance_m"] / 1000
                popup += "<br>" + inert(f"{km:.1f} km outside the area")
            rows.append([a["lat"], a["lon"], popup, inert(a["name"])])
        FastMarkerCluster(
            rows,
            callback=_MARKER_CALLBACK % (stroke, fill, opacity),
            name=f"{inert(label)} ({len(items)})",
            options={"showCoverageOnHover": False, "maxClusterRadius": 30},
        ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    if bounds and assets:  # frame the places within reach outside the area too
        west, south, east, north = bounds
        bounds = (min(west, *(a["lon"] for a in assets)), min(south, *(a["lat"] for a in assets)),
                  max(east, *(a["lon"] for a in assets)), max(north, *(a["lat"] for a in assets)))
    _fit(m, bounds)
    return m


def build_draw_map(
    bounds: tuple[float, float, float, float] | None,
    outlines: list[dict] | None = None,
    *,
    tile_url: str | None,
    attribution: str | None,
) -> tuple[folium.Map, str]:
    """The map a custom area is drawn on: the loaded local authorities' outlines and Leaflet.draw's
    polygon and rectangle tools.

    ``static/js/profile_draw.js`` copies the drawn shape into the form's GeoJSON field; the
    form works without it (paste or upload GeoJSON). Returns the map and the name of the
    JavaScript global holding the drawn shapes (a Leaflet FeatureGroup), which the page gives
    that script.
    """
    m = make_map(location=(52.7, -2.75), zoom_start=9, tile_url=tile_url, attribution=attribution, control_scale=True)
    for outline in outlines or []:
        folium.GeoJson(
            {"type": "Feature", "geometry": outline["geometry"], "properties": {}},
            name=inert(outline["name"]),
            style_function=lambda _: {"color": "#505a5f", "weight": 2, "fill": False, "dashArray": "4 4"},
            tooltip=inert(outline["name"]),
            control=False,
        ).add_to(m)
    drawn = folium.FeatureGroup(name="Drawn area", control=False).add_to(m)
    Draw(
        feature_group=drawn,
        show_geometry_on_click=False,
        draw_options={
            "polyline": False, "circle": False, "marker": False, "circlemarker": False,
            "polygon": {"allowIntersection": False, "showArea": True},
            "rectangle": {"showArea": True},
        },
        edit_options={"poly": {"allowIntersection": False}},
    ).add_to(m)
    _fit(m, bounds)
    return m, drawn.get_name()
