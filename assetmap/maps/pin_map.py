"""Small maps of one place: the map a volunteer drops a pin on, and the moderator's map of where
a place is now and where a change would put it. Plain data in, a folium.Map out."""
from __future__ import annotations

import folium

from assetmap.maps.escape import inert
from assetmap.maps.offline import make_map

NOW_COLOUR, PROPOSED_COLOUR = "#505a5f", "#0072B2"


def _outline(m: folium.Map, geometry: dict, name: str) -> None:
    folium.GeoJson(
        {"type": "Feature", "geometry": geometry, "properties": {}},
        name=inert(name),
        style_function=lambda _: {"color": "#333333", "weight": 2, "fill": False},
        control=False,
    ).add_to(m)


def _fit(m: folium.Map, bounds: tuple[float, float, float, float] | None, point: tuple[float, float] | None) -> None:
    if point is not None:
        lon, lat = point
        m.fit_bounds([[lat - 0.002, lon - 0.003], [lat + 0.002, lon + 0.003]])
    elif bounds is not None:
        west, south, east, north = bounds
        m.fit_bounds([[south, west], [north, east]])


def build_pin_map(bounds: tuple[float, float, float, float] | None, outlines: list[dict] | None = None,
                  point: tuple[float, float] | None = None, *, tile_url: str | None,
                  attribution: str | None) -> folium.Map:
    """The map a contributor clicks to place (and drags to move) the pin.

    The pin itself is drawn by ``static/js/contribute.js`` from the latitude and longitude inputs,
    so it follows what the form holds; the map shows the outlines of the areas the service covers
    (``outlines``: GeoJSON geometries), framed on ``point`` (lon, lat) when there is one, else on
    ``bounds`` (west, south, east, north).
    """
    # A view to start from; fit_bounds below frames the place or the areas.
    m = make_map(location=(52.7, -2.75), zoom_start=9, tile_url=tile_url, attribution=attribution, control_scale=True)
    for geometry in outlines or []:
        _outline(m, geometry, "Area covered")
    _fit(m, bounds, point)
    return m


def build_review_map(now: tuple[float, float] | None, proposed: tuple[float, float] | None, name: str, *,
                     tile_url: str | None, attribution: str | None) -> folium.Map:
    """Where a place is now (grey) and where the change would put it (blue); either may be None
    (with neither, the map opens on the middle of England)."""
    m = make_map(location=(52.6, -1.5), zoom_start=6, tile_url=tile_url, attribution=attribution, control_scale=True)
    points = []
    for label, point, colour in (("Now", now, NOW_COLOUR), ("Proposed", proposed, PROPOSED_COLOUR)):
        if point is None or (label == "Proposed" and point == now):
            continue
        lon, lat = point
        text = f"{inert(label)}: {inert(name)}"
        folium.CircleMarker(
            location=[lat, lon], radius=9, color="#ffffff", weight=2, fill=True, fill_color=colour, fill_opacity=0.95,
            popup=folium.Popup(f"<strong>{text}</strong>", max_width=260), tooltip=text,
        ).add_to(m)
        points.append((lon, lat))
    if points:
        lons, lats = [p[0] for p in points], [p[1] for p in points]
        pad = 0.002
        m.fit_bounds([[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]])
    return m
