"""Maps of the finder: search results as numbered, clustered markers around the searched point, and
one asset's place. Builders take plain data (EPSG:4326) and return a folium.Map; no database here.

The numbers on the markers are the numbers of the results list, which stays the primary content:
the map only shows where the same entries are.
"""
from __future__ import annotations

import re

import folium
from folium.plugins import MarkerCluster

from assetmap.maps.escape import inert
from assetmap.maps.offline import make_map


def _popup(item: dict, number: int | None, url: str | None, distance: str | None) -> str:
    title = inert(item["name"] + (f", {item['tell_apart']}" if item.get("tell_apart") else ""))
    lines = [f"<strong>{f'{number}. ' if number else ''}{title}</strong>"]
    if item.get("category_label"):
        lines.append(inert(item["category_label"]))
    if distance:
        lines.append(inert(distance))
    address = ", ".join(p for p in [item.get("address"), item.get("postcode")] if p)
    if address:
        lines.append(inert(address))
    if url:
        lines.append(f'<a href="{inert(url)}">Opening hours, contact and more</a>')
    return "<br>".join(lines)


def _pin(number: int, dimmed: bool) -> folium.DivIcon:
    css = "finder-pin finder-pin-dim" if dimmed else "finder-pin"
    return folium.DivIcon(html=f'<span class="{css}" aria-hidden="true">{int(number)}</span>',
                          icon_size=(30, 30), icon_anchor=(15, 15), class_name="finder-pin-wrap")


def build_finder_map(
    items: list[dict],
    centre: dict | None,
    radius_m: float | None,
    *,
    tile_url: str | None,
    attribution: str | None,
    data_attribution: str = "",
    asset_url=None,
    distance_text=None,
    first_number: int = 1,
) -> folium.Map:
    """The results of a search on a map.

    Parameters
    ----------
    items : list of dict
        Results in list order, each with ``name``, ``lat``, ``lon`` and optionally
        ``category_label``, ``address``, ``postcode``, ``distance_m``, ``within_radius``
        and ``stale``. Items without a position are left off.
    centre : dict or None
        ``{"lat", "lon", "label"}`` of the searched point, drawn with the radius around it.
    radius_m : float or None
        The search radius, drawn as a circle.
    asset_url, distance_text : callables, optional
        ``asset_url(item)`` gives each popup's link; ``distance_text(metres)`` its distance.
    first_number : int
        The list number of the first item (page 2 of 20 a page starts at 21).

    Returns
    -------
    folium.Map
        Fitted to the results and the searched point.
    """
    attribution_text = " | ".join(a for a in [attribution, inert(data_attribution)] if a)
    m = make_map(tile_url=tile_url, attribution=attribution_text or None, control_scale=True)
    points = []
    if centre:
        if radius_m:
            folium.Circle(
                location=[centre["lat"], centre["lon"]], radius=float(radius_m), color="#00594c", weight=2,
                fill=False, dash_array="6 6", interactive=False,
            ).add_to(m)
        folium.CircleMarker(
            location=[centre["lat"], centre["lon"]], radius=9, color="#1b1b1b", weight=3, fill=True,
            fill_color="#ffbf47", fill_opacity=1, tooltip=inert(f"Searched: {centre.get('label') or ''}"),
        ).add_to(m)
        points.append((centre["lat"], centre["lon"]))
    cluster = MarkerCluster(name="Results", options={"showCoverageOnHover": False, "maxClusterRadius": 35})
    for number, item in enumerate(items, start=first_number):
        if item.get("lat") is None or item.get("lon") is None:
            continue
        distance = distance_text(item["distance_m"]) if distance_text and item.get("distance_m") is not None else None
        folium.Marker(
            location=[item["lat"], item["lon"]],
            icon=_pin(number, dimmed=bool(item.get("stale")) or item.get("within_radius") is False),
            tooltip=inert(f"{number}. {item['name']}"),
            # Leaflet makes the pin a button: this is its name (a DOM property, so no HTML escaping;
            # the characters of markup and template literals are left out instead).
            title=re.sub(r"[<>`${}]", "", f"{number}. {item['name']}"),
            popup=folium.Popup(_popup(item, number, asset_url(item) if asset_url else None, distance), max_width=280),
        ).add_to(cluster)
        points.append((item["lat"], item["lon"]))
    cluster.add_to(m)
    if points:
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        # A little room round a lone point, which would otherwise zoom in as far as the map goes.
        m.fit_bounds([[min(lats) - 0.004, min(lons) - 0.006], [max(lats) + 0.004, max(lons) + 0.006]],
                     padding=(20, 20))
    return m


def build_asset_map(item: dict, *, tile_url: str | None, attribution: str | None) -> folium.Map:
    """One asset's place: a single marker, zoomed in (``item`` has ``name``, ``lat``, ``lon``)."""
    m = make_map(location=(item["lat"], item["lon"]), zoom_start=16, tile_url=tile_url, attribution=attribution,
                 control_scale=True)
    folium.CircleMarker(
        location=[item["lat"], item["lon"]], radius=10, color="#ffffff", weight=2, fill=True,
        fill_color="#00594c", fill_opacity=1, tooltip=inert(item["name"]),
    ).add_to(m)
    return m
