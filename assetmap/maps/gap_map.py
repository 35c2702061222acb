"""The gap map: need, provision, gap and the 3x3 bivariate class of every LSOA, drawn from vector
tiles, with the assets of the category on top. Plain data in, a folium.Map out; no database.

The LSOA polygons come as Mapbox vector tiles (``/tiles/lsoa/{z}/{x}/{y}.pbf?run=...``, cut by
PostGIS) through Folium's ``VectorGridProtobuf`` plugin, one base layer per measure: the page
stays small whether it shows one local authority or all of England, and the tiles always carry
the run's current scores. Each tile feature carries its figures (see
:func:`assetmap.db.gap_tiles.lsoa_tile`); the colours are chosen in the browser from the fixed
classes below. Areas without a value are hatched ("no data"), never coloured as zero. Areas with
nothing of the category in reach ("no provision within reach") are dotted on the provision and
two-way layers and outlined in black on the need and gap layers, so no layer passes them off as
merely "low".

Tooltips are built with ``textContent`` from the tile's properties, so no name or figure is ever
parsed as HTML; every piece of text that goes into the map from Python (layer names, asset
names) is made inert with :func:`assetmap.maps.escape.inert`.
"""
from __future__ import annotations

import json

import folium
from branca.element import MacroElement
from folium.plugins import FastMarkerCluster, VectorGridProtobuf
from folium.template import Template

from assetmap.domain.gap_ranks import BIVARIATE_CLASSES, NO_DATA, NO_PROVISION
from assetmap.maps.escape import inert
from assetmap.maps.offline import make_map

__all__ = ["BIVARIATE_COLOURS", "CLASS_LABELS", "LAYERS", "LEGEND", "NO_PROVISION_COLOUR", "SWATCH_BORDER",
           "build_gap_map", "class_label"]

#: The map's layers: key, and the label shown in the layer control and the legend.
LAYERS = {
    "gap": "Gap (need minus provision)",
    "bivariate": "Need and provision together",
    "need": "Need",
    "provision": "Provision",
}

#: Percentile bands (0-100) for need and provision; gap bands (-100..100).
PCT_BREAKS = [20, 40, 60, 80]
GAP_BREAKS = [-40, -10, 10, 40]
# ColorBrewer OrRd (need), GnBu (provision) and RdBu reversed (gap: red where need outruns provision).
NEED_COLOURS = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"]
PROVISION_COLOURS = ["#f0f9e8", "#bae4bc", "#7bccc4", "#43a2ca", "#0868ac"]
GAP_COLOURS = ["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"]
#: Joshua Stevens' 3x3 bivariate palette: need runs light to pink, provision light to teal;
#: high need with low provision (the gap) is the strong magenta.
BIVARIATE_COLOURS = dict(zip(BIVARIATE_CLASSES, [
    "#e8e8e8", "#ace4e4", "#5ac8c8",
    "#dfb0d6", "#a5add3", "#5698b9",
    "#be64ac", "#8c62aa", "#3b4994",
], strict=True))

#: Dots and outline of an area with nothing in reach.
NO_PROVISION_COLOUR = "#1f1f1f"
#: Border of every legend swatch and grid cell: 7:1 against white, so each swatch stands out as
#: a graphic whatever its fill (WCAG 1.4.11 asks 3:1), the palest included.
SWATCH_BORDER = "#505a5f"


def class_label(cls: str | None) -> str:
    """Words for a class, as the table, the tooltip and the legend say it.

    >>> class_label("high-need/low-provision"), class_label("no-provision"), class_label(None)
    ('high need, low provision', 'no provision within reach', 'no data')
    """
    if cls == NO_PROVISION:
        return "no provision within reach"
    if cls in (None, NO_DATA):
        return "no data"
    return cls.replace("-need/", " need, ").replace("-provision", " provision")


#: Every class the API and the map use, with its words.
CLASS_LABELS = {c: class_label(c) for c in (*BIVARIATE_CLASSES, NO_PROVISION, NO_DATA)}

#: Legend entries for each layer: (colour, label); the bivariate legend is the 3x3 grid.
LEGEND = {
    "need": [(c, f"{lo}-{hi}") for c, lo, hi in zip(NEED_COLOURS, [0, *PCT_BREAKS], [*PCT_BREAKS, 100], strict=True)],
    "provision": [(c, f"{lo}-{hi}") for c, lo, hi in
                  zip(PROVISION_COLOURS, [0, *PCT_BREAKS], [*PCT_BREAKS, 100], strict=True)],
    "gap": list(zip(GAP_COLOURS, ["below -40 (better served than need)", "-40 to -10", "-10 to 10",
                                  "10 to 40", "40 and above (need outruns provision)"], strict=True)),
}

HATCH_ID = "gap-no-data"


class _GapScript(MacroElement):
    """The hatch pattern for "no data", the style and tooltip functions, and the legend control."""

    _template = Template("""
        {% macro html(this, kwargs) %}
        <svg class="gap-defs" width="0" height="0" style="position:absolute" aria-hidden="true" focusable="false">
          <defs><pattern id="{{ this.hatch_id }}" patternUnits="userSpaceOnUse" width="6" height="6"
                         patternTransform="rotate(45)">
            <rect width="6" height="6" fill="#ffffff"></rect>
            <line x1="0" y1="0" x2="0" y2="6" stroke="#6f777b" stroke-width="2.5"></line>
          </pattern></defs>
        </svg>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var cfg = {{ this.config }};
            // Leaflet.VectorGrid's canvas renderer calls L.DomEvent.fakeStop on a click, which
            // Leaflet 1.9 no longer has (it threw, and no click reached the areas); this is the
            // 1.7 definition.
            if (!L.DomEvent.fakeStop) { L.DomEvent.fakeStop = function (e) { e._stopped = true; }; }
            // Tiles are drawn on canvas (tens of thousands of LSOAs draw several times faster than
            // as SVG), so "no data" is a canvas pattern of diagonal lines.
            var HATCH = (function () {
                var c = document.createElement("canvas");
                c.width = 8; c.height = 8;
                var g = c.getContext("2d");
                g.fillStyle = "#ffffff"; g.fillRect(0, 0, 8, 8);
                g.strokeStyle = "#6f777b"; g.lineWidth = 2;
                g.beginPath();
                g.moveTo(-2, 2); g.lineTo(2, -2); g.moveTo(0, 8); g.lineTo(8, 0); g.moveTo(6, 10); g.lineTo(10, 6);
                g.stroke();
                return g.createPattern(c, "repeat");
            })();
            var HATCH_SVG = "url(#" + cfg.hatch + ")";
            // Nothing in reach: dark dots on white, unlike any colour of any scale.
            var DOTS = (function () {
                var c = document.createElement("canvas");
                c.width = 6; c.height = 6;
                var g = c.getContext("2d");
                g.fillStyle = "#ffffff"; g.fillRect(0, 0, 6, 6);
                g.fillStyle = cfg.none_colour;
                g.beginPath(); g.arc(3, 3, 1.5, 0, 2 * Math.PI); g.fill();
                return g.createPattern(c, "repeat");
            })();
            var NONE = cfg.no_provision;
            function band(breaks, colours, v) {
                for (var i = 0; i < breaks.length; i++) { if (v < breaks[i]) { return colours[i]; } }
                return colours[colours.length - 1];
            }
            function fill(layer, p) {
                if (p.none && (layer === "provision" || (layer === "bivariate" && p.cls === NONE))) { return DOTS; }
                if (layer === "need") { return p.np == null ? HATCH : band(cfg.pct_breaks, cfg.need, p.np); }
                if (layer === "provision") { return p.pp == null ? HATCH : band(cfg.pct_breaks, cfg.provision, p.pp); }
                if (layer === "gap") { return p.gap == null ? HATCH : band(cfg.gap_breaks, cfg.gap, p.gap); }
                return cfg.bivariate[p.cls] || HATCH;
            }
            function style(layer) {
                return function (p, zoom) {
                    var none = !!p.none;
                    return {fill: true, fillColor: fill(layer, p), fillOpacity: none ? 0.9 : 0.78, stroke: true,
                            color: none ? cfg.none_colour : "#ffffff",
                            weight: none ? (zoom >= 11 ? 2.5 : 1.2) : (zoom >= 11 ? 1 : 0.3), opacity: 0.9};
                };
            }
            function fmt(v, digits) {
                return v == null ? "no data" : Number(v).toLocaleString("en-GB", {maximumFractionDigits: digits});
            }
            function tooltip(p) {
                var box = document.createElement("div");
                box.className = "gap-tooltip";
                var head = document.createElement("strong");
                head.textContent = p.code == null ? "Zoom in to see the area"
                    : (p.name ? p.name + " " : "") + "(" + p.code + ")";
                box.appendChild(head);
                var list = document.createElement("dl");
                function row(label, value) {
                    var dt = document.createElement("dt"), dd = document.createElement("dd");
                    dt.textContent = label; dd.textContent = value;
                    list.appendChild(dt); list.appendChild(dd);
                }
                if (p.pop != null) { row("Population", fmt(p.pop, 0)); }
                // Percentiles shown whole, and the gap as the difference of the figures shown.
                var np = p.np == null ? null : Math.round(p.np), pp = p.pp == null ? null : Math.round(p.pp);
                row("Need", np == null ? "no data" :
                    (p.need != null ? fmt(p.need, 2) + "; " : "") + "percentile " + fmt(np, 0));
                row("Provision", p.none ? "none within reach; percentile 0" :
                    (p.prov != null ? fmt(p.prov, 4) + " per 1,000 people; " : "") + "percentile " + fmt(pp, 0));
                if (p.near != null) { row("Nearest", fmt(p.near, 0) + " m"); }
                row("Gap", np == null || pp == null ? "no data" : (np - pp > 0 ? "+" : "") + fmt(np - pp, 0));
                row("Class", cfg.class_labels[p.cls] || "no data");
                if (p.href) { box.setAttribute("data-href", p.href); }
                box.appendChild(list);
                return box;
            }
            function swatch(colour) {
                var s = document.createElement("span");
                s.className = "gap-swatch";
                s.style.background = colour;
                return s;
            }
            function dotsSwatch() {
                var s = document.createElement("span");
                s.className = "gap-swatch gap-swatch-none";
                return s;
            }
            function hatchSwatch() {
                var svgNS = "http://www.w3.org/2000/svg";
                var svg = document.createElementNS(svgNS, "svg");
                svg.setAttribute("class", "gap-swatch");
                svg.setAttribute("width", "18"); svg.setAttribute("height", "14");
                svg.setAttribute("aria-hidden", "true");
                var rect = document.createElementNS(svgNS, "rect");
                rect.setAttribute("width", "18"); rect.setAttribute("height", "14");
                rect.setAttribute("fill", HATCH_SVG);
                rect.setAttribute("stroke", "#6f777b");
                svg.appendChild(rect);
                return svg;
            }
            function legend(div, layer) {
                // The legend folds (a summary line) on a phone, so it does not cover the map; it
                // keeps whatever state the reader left it in when the layer changes.
                var previous = div.firstChild;
                var open = previous && previous.tagName === "DETAILS" ? previous.open
                    : !(window.matchMedia && window.matchMedia("(max-width: 40em)").matches);
                div.textContent = "";
                var fold = document.createElement("details");
                fold.open = open;
                var title = document.createElement("summary");
                title.textContent = cfg.layer_labels[layer];
                fold.appendChild(title);
                if (layer === "bivariate") {
                    var grid = document.createElement("div");
                    grid.className = "gap-bivariate-grid";
                    grid.setAttribute("role", "img");
                    grid.setAttribute("aria-label", cfg.bivariate_description);
                    ["high", "mid", "low"].forEach(function (need) {
                        ["low", "mid", "high"].forEach(function (prov) {
                            var cell = swatch(cfg.bivariate[need + "-need/" + prov + "-provision"]);
                            cell.title = need + " need, " + prov + " provision";
                            grid.appendChild(cell);
                        });
                    });
                    var wrap = document.createElement("div");
                    wrap.className = "gap-bivariate";
                    var yAxis = document.createElement("span");
                    yAxis.className = "gap-axis gap-axis-y"; yAxis.textContent = "Need \\u2192";
                    var xAxis = document.createElement("span");
                    xAxis.className = "gap-axis gap-axis-x"; xAxis.textContent = "Provision \\u2192";
                    wrap.appendChild(yAxis); wrap.appendChild(grid); wrap.appendChild(xAxis);
                    fold.appendChild(wrap);
                } else {
                    var list = document.createElement("ul");
                    cfg.legend[layer].forEach(function (entry) {
                        var li = document.createElement("li");
                        li.appendChild(swatch(entry[0]));
                        li.appendChild(document.createTextNode(entry[1]));
                        list.appendChild(li);
                    });
                    fold.appendChild(list);
                }
                var none = document.createElement("p");
                none.appendChild(dotsSwatch());
                none.appendChild(document.createTextNode(layer === "need" || layer === "gap"
                    ? "Outlined: no provision within reach" : "No provision within reach"));
                fold.appendChild(none);
                var nd = document.createElement("p");
                nd.appendChild(hatchSwatch());
                nd.appendChild(document.createTextNode("No data"));
                fold.appendChild(nd);
                div.appendChild(fold);
            }
            function profileLink(p) {
                // Drill down: the area's profile (a tap or click opens this, with the figures).
                var box = tooltip(p);
                if (p.code != null && cfg.profile_url) {
                    var a = document.createElement("a");
                    a.href = cfg.profile_url.replace("__code__", encodeURIComponent(p.code));
                    a.className = "gap-profile-link";
                    a.textContent = "Open the profile of " + (p.name || p.code);
                    box.appendChild(a);
                }
                return box;
            }
            function attach(map, layers, active) {
                var tip = L.tooltip({direction: "top", offset: [0, -6], className: "gap-tooltip-box"});
                // The map's own click follows the area's: closeOnClick would shut the popup at once.
                var popup = L.popup({className: "gap-tooltip-box", maxWidth: 280, autoPanPadding: [12, 12],
                                     closeOnClick: false});
                Object.keys(layers).forEach(function (key) {
                    layers[key].on("mouseover", function (e) {
                        tip.setContent(tooltip(e.layer.properties)).setLatLng(e.latlng);
                        map.openTooltip(tip);
                    });
                    layers[key].on("click", function (e) {
                        map.closeTooltip(tip);
                        popup.setContent(profileLink(e.layer.properties)).setLatLng(e.latlng);
                        map.openPopup(popup);
                    });
                    layers[key].on("mouseout", function () { map.closeTooltip(tip); });
                });
                var control = L.control({position: "bottomright"});
                control.onAdd = function () {
                    var div = L.DomUtil.create("div", "gap-legend");
                    legend(div, active);
                    return div;
                };
                control.addTo(map);
                // For tests and benchmarks: the time the first layer shown had all its tiles drawn.
                layers[active].once("load", function () {
                    document.body.setAttribute("data-gap-map-ready", String(Math.round(performance.now())));
                });
                map.on("baselayerchange", function (e) {
                    Object.keys(layers).forEach(function (key) {
                        if (layers[key] === e.layer) { legend(control.getContainer(), key); }
                    });
                });
            }
            return {style: style, attach: attach};
        })();
        {% endmacro %}
    """)

    def __init__(self, hatch_id: str = HATCH_ID, profile_url: str | None = None):
        super().__init__()
        self._name = "GapScript"
        self.hatch_id = hatch_id
        self.config = json.dumps({
            "profile_url": profile_url,
            "no_provision": NO_PROVISION, "none_colour": NO_PROVISION_COLOUR,
            "hatch": hatch_id,
            "pct_breaks": PCT_BREAKS, "gap_breaks": GAP_BREAKS,
            "need": NEED_COLOURS, "provision": PROVISION_COLOURS, "gap": GAP_COLOURS,
            "bivariate": BIVARIATE_COLOURS, "class_labels": CLASS_LABELS,
            "layer_labels": LAYERS, "legend": LEGEND,
            "bivariate_description": "Three by three grid: need rises upwards, provision rises to the right; "
                                     "high need with low provision is magenta.",
        })


class _Attach(MacroElement):
    """Binds the tooltips and the legend once the layers exist."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this.script_name }}.attach({{ this.map_name }}, {
            {%- for key, name in this.layers %}{{ key|tojson }}: {{ name }}{{ "," if not loop.last }}{% endfor -%}
        }, {{ this.active|tojson }});
        {% endmacro %}
    """)

    def __init__(self, script_name: str, map_name: str, layers: list[tuple[str, str]], active: str):
        super().__init__()
        self._name = "GapAttach"
        self.script_name, self.map_name, self.layers, self.active = script_name, map_name, layers, active


_ASSET_CALLBACK = """function (row) {
    var marker = L.circleMarker(new L.LatLng(row[0], row[1]), {
        radius: 6, color: "#ffffff", weight: 2, fillColor: "#000000", fillOpacity: 0.9
    });
    marker.bindTooltip(row[2]);
    return marker;
}"""


def build_gap_map(
    *,
    tiles_url: str,
    assets: list[dict],
    bounds: tuple[float, float, float, float] | None,
    category_label: str,
    active_layer: str = "gap",
    tile_url: str | None,
    attribution: str | None,
    data_attribution: str = "",
    profile_url: str | None = None,
    tile_layer: str = "lsoa",
) -> folium.Map:
    """The gap map of one run.

    Parameters
    ----------
    tiles_url : str
        Leaflet URL template of the run's LSOA vector tiles, e.g.
        ``/tiles/lsoa/{z}/{x}/{y}.pbf?run=3&v=1700000000``.
    assets : list of dict
        The assets counted: ``name, lat, lon`` (EPSG:4326), drawn on top.
    bounds : tuple, optional
        (west, south, east, north) to fit.
    category_label : str
        Names the asset layer.
    active_layer : str
        The layer shown first, a key of :data:`LAYERS`.
    tile_url, attribution : str or None
        Base map (see :func:`assetmap.maps.offline.make_map`).
    data_attribution : str
        Plain text credit for the data, made inert here.
    profile_url : str, optional
        URL of an area's profile with ``__code__`` for its code; a click on an area then offers
        a link to it.
    tile_layer : str
        The layer name inside the tiles: the stored level they draw (``lsoa21``, ``ward24``,
        ``msoa21`` for a run on 2021 geography; ``lsoa``, ``ward``, ``msoa`` on 2011).

    Returns
    -------
    folium.Map
        Four base layers (:data:`LAYERS`, one shown), the assets as a clustered overlay, a layer
        control and a legend that follows the layer shown.
    """
    if active_layer not in LAYERS:
        raise ValueError(f"active_layer must be one of {', '.join(LAYERS)}, got {active_layer!r}")
    credit = " | ".join(a for a in [attribution, inert(data_attribution)] if a)
    m = make_map(tile_url=tile_url, attribution=credit or None, control_scale=True, max_zoom=18)
    if bounds:
        # Fit before any layer is added: a layer added first would fetch tiles for the world view.
        west, south, east, north = bounds
        m.fit_bounds([[south, west], [north, east]])
    script = _GapScript(profile_url=profile_url)
    script.add_to(m)
    names = []
    for key, label in LAYERS.items():
        options = (
            "{"
            f"vectorTileLayerStyles: {{{json.dumps(tile_layer)}: {script.get_name()}.style({json.dumps(key)})}}, "
            "interactive: true, maxNativeZoom: 14, rendererFactory: L.canvas.tile, "
            f"attribution: {json.dumps(credit if tile_url is None else '')}"
            "}"
        )
        layer = VectorGridProtobuf(tiles_url, name=inert(label), options=options, overlay=False,
                                   show=key == active_layer)
        layer.add_to(m)
        names.append((key, layer.get_name()))
    if assets:
        rows = [[round(a["lat"], 6), round(a["lon"], 6), inert(a["name"])] for a in assets]
        FastMarkerCluster(
            rows, callback=_ASSET_CALLBACK, name=f"{inert(category_label)} ({len(assets)})",
            options={"showCoverageOnHover": False, "maxClusterRadius": 30, "disableClusteringAtZoom": 12,
                     "chunkedLoading": True},
        ).add_to(m)
    _Attach(script.get_name(), m.get_name(), names, active_layer).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m
