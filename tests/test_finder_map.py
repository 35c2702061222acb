"""The finder's map builders: numbered markers like the list, the radius, nothing from outside, inert text."""
from __future__ import annotations

import re

from assetmap.maps.finder_map import build_asset_map, build_finder_map
from assetmap.maps.offline import render_parts

ITEMS = [
    {"id": 1, "name": "Day `${x}` Centre <b>", "lat": 52.861, "lon": -3.052, "distance_m": 150.0,
     "within_radius": True, "category_label": "Community centre", "address": "1 High St", "postcode": "SY11 1AA"},
    {"id": 2, "name": "Far Hall", "lat": 52.95, "lon": -3.10, "distance_m": 11000.0, "within_radius": False},
    {"id": 3, "name": "Helpline", "lat": None, "lon": None, "distance_m": None},
]


def _render(m) -> dict:
    return render_parts(m, lambda path: f"/static/vendor/{path}", with_bootstrap=False)


def test_results_map_numbers_markers_from_the_page_start_and_draws_the_radius():
    m = build_finder_map(ITEMS, {"lat": 52.86, "lon": -3.054, "label": "SY11"}, 5000, tile_url=None, attribution=None,
                         asset_url=lambda item: f"/assets/{item['id']}", distance_text=lambda d: f"{d:.0f} m",
                         first_number=21)
    parts = _render(m)
    script = parts["script"]
    assert script.count("L.marker(") == 2  # the item without a position is left off
    numbers = re.findall(r'aria-hidden=\\"true\\"\\u003e(\d+)\\u003c/span', script)
    assert numbers == ["21", "22"]  # as the list numbers them on page 2
    assert "finder-pin-dim" in script  # outside the radius: dimmed
    assert "L.circle(" in script and '"radius": 5000.0' in script
    assert "L.markerClusterGroup(" in script
    assert "/assets/1" in script and "150 m" in script
    assert "${x}" not in script and "&#36;{x}" in script and "&lt;b&gt;" in script
    assert not re.findall(r'(?:src|href)="https?://', parts["header"])


def test_asset_map_is_one_marker_zoomed_in():
    script = _render(build_asset_map(ITEMS[0], tile_url=None, attribution=None))["script"]
    assert script.count("L.circleMarker(") == 1 and '"zoom": 16' in script
    assert "&lt;b&gt;" in script and "<b>" not in script
