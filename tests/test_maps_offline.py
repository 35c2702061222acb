"""Maps load every script and stylesheet from the app's own copies, never from a CDN."""
from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import pandas as pd
import pytest
from branca.element import Element, JavascriptLink
from folium import plugins
from folium.elements import JSCSSMixin

from assetmap.maps import offline
from assetmap.maps.offline import (
    CDN_TO_VENDOR,
    VENDOR_FILES,
    VENDOR_PACKAGES,
    UnknownAssetError,
    localise,
    make_map,
    render_parts,
)

STATIC = Path(__file__).resolve().parent.parent / "static"
NODE_MODULES = STATIC / "node_modules"
PREFIX = "/static/vendor/"


def url_for_vendor(path: str) -> str:
    return PREFIX + path


TAG_URL = re.compile(
    r"""<(?P<tag>script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']?(?P<url>[^"'\s>]+)""", re.IGNORECASE
)
ANY_URL = re.compile(r"""(?:https?:)?//[^\s"'<>`)\\]+""")

GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"code": "A", "name": "Ward A", "value": 1.0},
            "geometry": {"type": "Polygon",
                         "coordinates": [[[-2.8, 52.6], [-2.7, 52.6], [-2.7, 52.7], [-2.8, 52.7], [-2.8, 52.6]]]},
        },
        {
            "type": "Feature",
            "properties": {"code": "B", "name": "Ward B", "value": 5.0},
            "geometry": {"type": "Polygon",
                         "coordinates": [[[-2.7, 52.6], [-2.6, 52.6], [-2.6, 52.7], [-2.7, 52.7], [-2.7, 52.6]]]},
        },
    ],
}


def build_full_map(**make_map_kwargs) -> folium.Map:
    """A map using every element the app uses."""
    m = make_map(location=(52.65, -2.7), zoom_start=11, **make_map_kwargs)
    assets = folium.FeatureGroup(name="Assets").add_to(m)
    cluster = plugins.MarkerCluster(name="Clustered").add_to(assets)
    for i in range(12):
        folium.Marker((52.62 + i * 0.004, -2.75 + i * 0.006), tooltip=f"asset {i}",
                      popup=f"<b>asset {i}</b>").add_to(cluster)
    folium.Marker((52.68, -2.62), icon=folium.Icon(color="red", icon="info-sign")).add_to(assets)  # glyphicon
    folium.Marker((52.69, -2.64), icon=folium.Icon(color="green", icon="house", prefix="fa", angle=30)).add_to(assets)
    folium.GeoJson(
        GEOJSON,
        name="Wards",
        tooltip=folium.GeoJsonTooltip(fields=["name", "value"]),
        popup=folium.GeoJsonPopup(fields=["name"]),
    ).add_to(m)
    folium.Choropleth(
        geo_data=GEOJSON,
        data=pd.DataFrame({"code": ["A", "B"], "value": [1.0, 5.0]}),
        columns=["code", "value"],
        key_on="feature.properties.code",
        fill_color="YlOrRd",
        legend_name="Need",
        name="Need",
    ).add_to(m)
    plugins.VectorGridProtobuf("/tiles/{z}/{x}/{y}.pbf", "Boundaries", {"vectorTileLayerStyles": {}}).add_to(m)
    plugins.Draw(export=False).add_to(m)
    plugins.Fullscreen().add_to(m)
    plugins.LocateControl().add_to(m)
    folium.LayerControl().add_to(m)
    return m


def assert_all_links_local(html: str) -> set[str]:
    """Every <script src> and <link href> is a local file that exists; returns the paths."""
    paths = set()
    for tag in TAG_URL.finditer(html):
        url = tag.group("url")
        assert not re.match(r"(?:[a-z][a-z0-9+.-]*:)?//", url, re.IGNORECASE), f"external <{tag['tag']}>: {url}"
        assert url.startswith(PREFIX), url
        path = url.removeprefix(PREFIX)
        assert (NODE_MODULES / path).is_file(), f"{path} is not installed under static/node_modules"
        paths.add(path)
    return paths


def test_every_link_of_every_element_is_a_local_file():
    m = build_full_map()
    parts = render_parts(m, url_for_vendor)
    html = "\n".join(parts.values())
    paths = assert_all_links_local(html)
    # All of the table was used (this map has every element), the rotate stylesheet inline instead.
    assert paths == VENDOR_FILES
    assert ".fa-rotate-30 { transform: rotate(30deg); }" in parts["header"]


def test_nothing_external_is_left_but_the_tiles_and_their_attribution():
    m = build_full_map()
    html = "\n".join(render_parts(m, url_for_vendor).values())
    external = set(ANY_URL.findall(html))
    assert external <= {
        offline.DEFAULT_TILE_URL,
        "https://www.openstreetmap.org/copyright",
    }, external


def test_a_full_page_render_is_local_too_and_stays_so_when_rendered_again():
    m = localise(build_full_map(), url_for_vendor)
    for _ in range(2):
        assert_all_links_local(m.get_root().render())


def test_a_map_with_no_tiles_has_no_external_url_at_all_and_keeps_its_zoom_range():
    m = build_full_map(tile_url=None)
    parts = render_parts(m, url_for_vendor)
    html = "\n".join(parts.values())
    assert not ANY_URL.findall(html)
    assert "L.tileLayer(" not in parts["script"]
    # Leaflet.markercluster needs the map's own maxZoom when no layer gives one.
    assert re.search(r'"maxZoom":\s*19', parts["script"])


def test_make_map_wants_an_attribution_with_its_tiles():
    with pytest.raises(ValueError):
        make_map(tile_url="/tiles/{z}/{x}/{y}.png", attribution=None)
    with pytest.raises(TypeError):
        make_map(tiles="OpenStreetMap")
    m = make_map(tile_url="/tiles/{z}/{x}/{y}.png", attribution="Our tiles")
    script = render_parts(m, url_for_vendor)["script"]
    assert "/tiles/{z}/{x}/{y}.png" in script and "Our tiles" in script


def test_the_embedded_map_does_not_take_over_the_page():
    m = make_map(location=(52.65, -2.7), height=480)
    parts = render_parts(m, url_for_vendor)
    header = parts["header"]
    assert "html, body" not in header
    assert "#map {" not in header
    assert "user-scalable=no" not in header
    assert f"#{m.get_name()} {{" in header and "height: 480.0px;" in header and "min-height" not in header
    assert f'id="{m.get_name()}"' in parts["html"]
    assert "bootstrap.min.css" in header
    no_bootstrap = render_parts(make_map(), url_for_vendor, with_bootstrap=False)["header"]
    assert "bootstrap/dist" not in no_bootstrap and "leaflet/dist/leaflet.js" in no_bootstrap


def test_no_rotate_rules_when_no_icon_is_rotated():
    m = make_map()
    folium.Marker((52.7, -2.7), icon=folium.Icon(icon="house", prefix="fa")).add_to(m)
    header = render_parts(m, url_for_vendor)["header"]
    assert "fa-rotate" not in header and "rotate.min.css" not in header


def test_localising_does_not_change_folium_for_other_maps():
    before = {cls: (list(cls.default_js), list(cls.default_css)) for cls in (folium.Map, plugins.MarkerCluster)}
    render_parts(build_full_map(), url_for_vendor)
    for cls, (js, css) in before.items():
        assert (cls.default_js, cls.default_css) == (js, css)
    # A map nobody localised still links the CDN (folium's behaviour, untouched).
    assert "cdn.jsdelivr.net/npm/leaflet@" in folium.Map().get_root().render()


class ShinyPlugin(JSCSSMixin):
    default_js = [("shiny", "https://cdn.example.org/shiny@1.0/shiny.min.js")]


def test_an_unknown_cdn_url_raises_when_localising():
    m = make_map()
    ShinyPlugin().add_to(m)
    with pytest.raises(UnknownAssetError, match=r"shiny\.min\.js.*ShinyPlugin"):
        localise(m, url_for_vendor)


def test_a_link_added_while_rendering_is_caught_as_well():
    class AddsALinkWhenRendered(Element):
        def render(self, **kwargs):
            self.get_root().header.add_child(JavascriptLink("//cdn.example.org/late.js"), name="late")
            return super().render(**kwargs)

    m = make_map()
    m.add_child(AddsALinkWhenRendered())
    localise(m, url_for_vendor)  # nothing to see yet
    with pytest.raises(UnknownAssetError, match="late.js"):
        render_parts(m, url_for_vendor)


def test_a_literal_script_tag_in_the_header_is_caught():
    m = make_map()
    m.get_root().header.add_child(Element('<script src="https://cdn.example.org/raw.js"></script>'), name="raw")
    with pytest.raises(UnknownAssetError, match="raw.js"):
        render_parts(m, url_for_vendor)


def test_the_table_and_the_installed_packages_agree():
    package_json = json.loads((STATIC / "package.json").read_text(encoding="utf-8"))
    deps = package_json["dependencies"]
    assert VENDOR_PACKAGES <= set(deps), VENDOR_PACKAGES - set(deps)
    for name, version in deps.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned: {version}"
        installed = json.loads((NODE_MODULES / name / "package.json").read_text(encoding="utf-8"))
        assert installed["version"] == version, name
    assert (STATIC / "package-lock.json").is_file()
    for path in VENDOR_FILES:
        assert (NODE_MODULES / path).is_file(), path
    for url in CDN_TO_VENDOR:
        assert url.startswith("https://")
