"""Folium maps that load nothing from outside the app.

Folium (and branca, under it) links Leaflet, jQuery, Bootstrap, Font Awesome and the plugins from
public CDNs. Those files are installed instead from the npm registry into ``static/node_modules``
(``static/package.json``, pinned, installed by ``scripts/setup.sh``) and served by the app itself,
so a map works offline and under a Content-Security-Policy that allows only 'self' for scripts and
stylesheets.

The links are not in one place: each element class lists its own (``default_js``/``default_css``),
and some code adds a link while it renders (branca's colormap adds d3). All of them end up in the
figure's header, and only when the figure is rendered, so :func:`localise` puts a guard on the
header that rewrites every link there to the local copy as the header is rendered, from the one
table below, :data:`CDN_TO_VENDOR`. A link the table does not know raises
:class:`UnknownAssetError` (at :func:`localise` already when it can be seen then), so a new folium
version or plugin cannot quietly bring a CDN back.

Use::

    from assetmap.maps.offline import make_map, render_parts

    m = make_map(location=(52.7, -2.75), zoom_start=11)
    ...  # add layers
    parts = render_parts(m, lambda path: url_for("vendor", path=path))
    # template: {{ parts.header|safe }} in <head>, {{ parts.html|safe }} where the map goes,
    # <script>{{ parts.script|safe }}</script> after it.

The app serves ``static/node_modules/<package>/...`` for the packages in :data:`VENDOR_PACKAGES`
(whole directories, because the stylesheets load images and fonts by relative URL).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import folium
from branca.element import CssLink, Element, Figure, JavascriptLink, Link, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

__all__ = [
    "CDN_TO_VENDOR",
    "DEFAULT_ATTRIBUTION",
    "DEFAULT_TILE_URL",
    "UnknownAssetError",
    "VENDOR_FILES",
    "VENDOR_PACKAGES",
    "localise",
    "make_map",
    "render_parts",
    "vendor_path",
]

# Stands for folium's own stylesheet of ``.fa-rotate-N`` rules (N = 0..359, for Icon(angle=N)).
# It is in no package, and is one trivial rule per angle: the header gets, inline, the rules for
# the angles the map's icons use, and nothing when none is rotated.
ROTATE_CSS = None

# CDN URL that folium 0.20 / branca 0.8 emit -> the same file inside static/node_modules.
# The packages are pinned in static/package.json; each comment names the package and version.
CDN_TO_VENDOR: Mapping[str, str | None] = MappingProxyType({
    # leaflet 1.9.4 (folium names 1.9.3; 1.9.4 is its bug-fix release, same API)
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/dist/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/dist/leaflet.css",
    # jquery 3.7.1 (folium's popups build their content with $(...))
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    # bootstrap 5.2.2
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        "bootstrap/dist/js/bootstrap.bundle.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
        "bootstrap/dist/css/bootstrap.min.css",
    # glyphicons-only-bootstrap 1.0.1: Bootstrap 3's glyphicons and nothing else of Bootstrap 3
    # (Bootstrap 3.0.0 is not on the registry); folium.Icon's default prefix is "glyphicon"
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css":
        "glyphicons-only-bootstrap/css/bootstrap.min.css",
    # @fortawesome/fontawesome-free 6.2.0 (folium.Icon(prefix="fa"))
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        "@fortawesome/fontawesome-free/css/all.min.css",
    # drmonty-leaflet-awesome-markers 2.0.2: Leaflet.awesome-markers 2.0.2 as released upstream
    # (the "leaflet.awesome-markers" package is a fork, 2.0.5, with different sprite images)
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js":
        "drmonty-leaflet-awesome-markers/js/leaflet.awesome-markers.js",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css":
        "drmonty-leaflet-awesome-markers/css/leaflet.awesome-markers.css",
    # folium's own .fa-rotate-N rules: no package, written inline (see ROTATE_CSS)
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css":
        ROTATE_CSS,
    # leaflet.markercluster 1.5.3 (folium names 1.1.0, from 2017; 1.5.3 is the release for Leaflet 1.9)
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js":
        "leaflet.markercluster/dist/leaflet.markercluster.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css":
        "leaflet.markercluster/dist/MarkerCluster.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css":
        "leaflet.markercluster/dist/MarkerCluster.Default.css",
    # d3 3.5.5 (branca's colormap legend, as used by Choropleth; it needs d3 v3's API)
    "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js": "d3/d3.min.js",
    # leaflet.vectorgrid 1.3.0 (folium names "@latest", which is 1.3.0)
    "https://unpkg.com/leaflet.vectorgrid@latest/dist/Leaflet.VectorGrid.bundled.js":
        "leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.js",
    # leaflet-draw 1.0.2
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.js": "leaflet-draw/dist/leaflet.draw.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.css":
        "leaflet-draw/dist/leaflet.draw.css",
    # leaflet.fullscreen 3.0.0 (the package has no .min.js; the CDN minifies the same file on the fly)
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js":
        "leaflet.fullscreen/Control.FullScreen.js",
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css":
        "leaflet.fullscreen/Control.FullScreen.css",
    # leaflet.locatecontrol 0.66.2
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet-locatecontrol/0.66.2/L.Control.Locate.min.js":
        "leaflet.locatecontrol/dist/L.Control.Locate.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet-locatecontrol/0.66.2/L.Control.Locate.min.css":
        "leaflet.locatecontrol/dist/L.Control.Locate.min.css",
})


def _package_of(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[:2]) if parts[0].startswith("@") else parts[0]


#: Every file under static/node_modules that a localised map links to.
VENDOR_FILES: frozenset[str] = frozenset(p for p in CDN_TO_VENDOR.values() if p is not None)
#: The npm package directories (``leaflet``, ``@fortawesome/fontawesome-free``, ...) the app may serve
#: whole: the stylesheets load images and fonts from beside them by relative URL.
VENDOR_PACKAGES: frozenset[str] = frozenset(_package_of(p) for p in VENDOR_FILES)

#: Base map used by :func:`make_map` unless told otherwise. Tiles are the one thing still loaded from
#: outside; without them the map is blank underneath but every data layer still shows.
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'

UrlForVendor = Callable[[str], str]


class UnknownAssetError(LookupError):
    """A map links to an external script or stylesheet that has no local copy."""

    def __init__(self, url: str, where: str = ""):
        self.url = url
        super().__init__(
            f"the map links to {url!r}{f' (from {where})' if where else ''}, which has no local copy: "
            "add its npm package to static/package.json and the file to "
            "assetmap.maps.offline.CDN_TO_VENDOR (maps must load nothing from outside the app)"
        )


def _is_external(url: str) -> bool:
    return bool(urlsplit(url).netloc)


def vendor_path(url: str, where: str = "") -> str | None:
    """The node_modules path serving ``url``; None for folium's rotate stylesheet (written inline).

    Raises :class:`UnknownAssetError` when ``url`` is not in :data:`CDN_TO_VENDOR`.
    """
    try:
        return CDN_TO_VENDOR[url]
    except KeyError:
        raise UnknownAssetError(url, where) from None


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def _rotate_css(figure: Figure) -> str:
    angles = set()
    for element in _walk(figure):
        if isinstance(element, folium.Icon):
            match = re.fullmatch(r"fa-rotate-(-?\d+)", str(element.options.get("extra_classes", "")))
            if match and int(match.group(1)) != 0:
                angles.add(int(match.group(1)))
    if not angles:
        return ""
    rules = "\n".join(f".fa-rotate-{a} {{ transform: rotate({a}deg); }}" for a in sorted(angles))
    return f"<style>\n{rules}\n</style>"


class _VendorHeader(Element):
    """A figure's header whose external script and stylesheet links become local ones as it renders.

    Links are added to the header while the figure renders, so this is the one place that sees
    them all, whichever element added them and however many times the figure is rendered.
    """

    def __init__(self, url_for_vendor: UrlForVendor):
        super().__init__()
        self._name = "VendorHeader"
        self.url_for_vendor = url_for_vendor

    def _localise_links(self) -> None:
        for name, child in list(self._children.items()):
            if not isinstance(child, Link) or not _is_external(child.url):
                continue
            path = vendor_path(child.url, f"header entry {name!r}")
            if path is not None:
                child.url = self.url_for_vendor(path)
            else:  # folium's rotate stylesheet
                assert isinstance(self._parent, Figure)
                self._children[name] = Element(_rotate_css(self._parent))
                self._children[name]._parent = self

    def render(self, **kwargs: Any) -> str:
        self._localise_links()
        html = super().render(**kwargs)
        # Last line of defence: a plain Element holding a literal <script src=...> or <link href=...>.
        tag = _EXTERNAL_TAG.search(html)
        if tag:
            raise UnknownAssetError(tag.group("url"), "a literal tag in the header")
        return html


_EXTERNAL_TAG = re.compile(
    r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']?(?P<url>(?:[a-z][a-z0-9+.-]*:)?//[^"'\s>]+)""",
    re.IGNORECASE,
)


def localise(m: folium.Map, url_for_vendor: UrlForVendor) -> folium.Map:
    """Make ``m``'s figure link its scripts and stylesheets to the app's own copies.

    ``url_for_vendor("leaflet/dist/leaflet.js")`` gives the URL the page loads that file from
    (say ``/static/vendor/leaflet/dist/leaflet.js``). The links themselves are rewritten when the
    figure's header renders (see :class:`_VendorHeader`); this checks now that every link the
    map's elements declare has a local copy, and raises :class:`UnknownAssetError` otherwise.
    Calling it again only changes ``url_for_vendor``. Returns ``m``.
    """
    figure = m.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("the map is not in a folium/branca Figure")
    for element in _walk(figure):
        if isinstance(element, JSCSSMixin):
            for _, url in [*element.default_js, *element.default_css]:
                if _is_external(url):
                    vendor_path(url, type(element).__name__)
    header = figure.header
    if isinstance(header, _VendorHeader):
        header.url_for_vendor = url_for_vendor
    else:
        guard = _VendorHeader(url_for_vendor)
        for name, child in header._children.items():
            guard.add_child(child, name=name)
        guard._parent = figure
        figure.header = guard
    for element in _walk(figure.header):
        if isinstance(element, (JavascriptLink, CssLink)) and _is_external(element.url):
            vendor_path(element.url, "the figure's header")
    return m


def _embedded_map_header(m: folium.Map) -> str:
    """What folium's Map puts in the header, less what takes over the page.

    folium writes ``html, body {width: 100%; height: 100%; margin: 0; padding: 0}``, a rule for any
    element with id "map", a viewport meta tag forbidding zoom and a ``.leaflet-container`` rule for
    every map on the page: all fine for a page that is only the map, not for one that has other
    things beside it. This keeps the size and font size, for this map's own element only.
    """
    name = m.get_name()
    width, height = "".join(map(str, m.width)), "".join(map(str, m.height))
    # A percentage height of a parent with no height is 0: give the map some height regardless.
    min_height = "\n    min-height: 20rem;" if m.height[1] == "%" else ""
    return f"""<style>
#{name} {{
    position: {m.position};
    width: {width};
    height: {height};{min_height}
    left: {''.join(map(str, m.left))};
    top: {''.join(map(str, m.top))};
}}
#{name}.leaflet-container {{ font-size: {m.font_size}; }}
</style>
<script>
    L_NO_TOUCH = {'true' if m.global_switches.no_touch else 'false'};
    L_DISABLE_3D = {'true' if m.global_switches.disable_3d else 'false'};
</script>"""


def render_parts(m: folium.Map, url_for_vendor: UrlForVendor, *, with_bootstrap: bool = True) -> dict[str, str]:
    """Render ``m`` for embedding in one of the app's own pages: ``header``, ``html`` and ``script``.

    Folium's documented way (render the figure, then its header, html and script), localised
    first, and with the map's full-window page styles replaced by :func:`_embedded_map_header`.
    Put ``header`` in the page's <head>, ``html`` where the map goes (it sizes itself from the
    Map's width and height, 100% of its container by default), and ``script`` inside a <script>
    after ``html``.

    ``with_bootstrap=False`` leaves out Bootstrap 5's stylesheet and script, which folium links
    on every map although neither it nor the plugins here use them; its stylesheet restyles the
    whole page (margins, fonts, headings). Popup HTML written with Bootstrap classes needs it.
    """
    localise(m, url_for_vendor)
    figure = m.get_root()
    figure.render()
    header = figure.header
    for element in _walk(figure):
        if isinstance(element, folium.Map) and element.get_name() in header._children:
            header.add_child(Element(_embedded_map_header(element)), name=element.get_name())
    if not with_bootstrap:
        for name in ("bootstrap", "bootstrap_css"):
            header._children.pop(name, None)
    return {
        "header": header.render(),
        "html": figure.html.render(),
        "script": figure.script.render(),
    }


def make_map(
    location: tuple[float, float] | list[float] | None = None,
    zoom_start: int = 12,
    *,
    tile_url: str | None = DEFAULT_TILE_URL,
    attribution: str | None = DEFAULT_ATTRIBUTION,
    width: str | int = "100%",
    height: str | int = "100%",
    min_zoom: int = 0,
    max_zoom: int = 19,
    **kwargs: Any,
) -> folium.Map:
    """A folium Map with a configurable base map and nothing that depends on it.

    ``tile_url`` is a Leaflet URL template (``.../{z}/{x}/{y}.png``) and needs an ``attribution``;
    ``tile_url=None`` makes a map with no base map. The zoom range is set on the map itself rather
    than only on the tile layer, so marker clusters and zooming work when the tiles do not load or
    there is no tile layer (Leaflet.markercluster refuses a map with no maxZoom). The tile layer is
    left out of any LayerControl: it is the only base map. Other keyword arguments go to
    :class:`folium.Map`.
    """
    if "tiles" in kwargs:
        raise TypeError("make_map takes tile_url and attribution, not tiles")
    m = folium.Map(location=location, zoom_start=zoom_start, tiles=None, width=width, height=height, **kwargs)
    m.options.update(min_zoom=min_zoom, max_zoom=max_zoom)
    if tile_url:
        if not attribution:
            raise ValueError("a tile layer needs its provider's attribution")
        folium.TileLayer(
            tiles=tile_url,
            attr=attribution,
            name="Base map",
            min_zoom=min_zoom,
            max_zoom=max_zoom,
            control=False,
        ).add_to(m)
    return m


class _Attribution(MacroElement):
    """Adds a line to the map's attribution control (shown with or without a base map)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text | tojson }});
        {% endmacro %}"""
    )

    def __init__(self, text: str):
        super().__init__()
        self._name = "Attribution"
        self.text = text


def add_attribution(m: folium.Map, text: str) -> folium.Map:
    """Say on ``m`` itself where its data came from. ``text`` is HTML: pass inert text."""
    if text:
        _Attribution(text).add_to(m)
    return m
