/* Area profiles: the print button, and the custom-area map's drawing tools.
 *
 * Progressive enhancement. Without this script a profile still prints from the browser's menu,
 * and a custom area can still be pasted or uploaded as GeoJSON. With it, the shape drawn on the
 * map (Leaflet.draw, through Folium) is copied into the form's GeoJSON field, one shape at a
 * time, and a shape already in the field is shown on the map.
 *
 * Folium's Leaflet map and the FeatureGroup holding the drawn shapes are globals named in the
 * data-draw-map and data-drawn-items attributes. Text goes into the page with textContent only.
 */
(function () {
  "use strict";

  var printButton = document.querySelector("[data-print]");
  if (printButton) {
    printButton.hidden = false;
    printButton.addEventListener("click", function () { window.print(); });
  }

  // The profile's map prints at another size than the screen's: let Leaflet redraw it for the
  // page, and back after. Folium names the map's global after its element's id.
  var printed = document.querySelector(".profile-map .folium-map");
  var printedMap = printed && window[printed.id];
  if (printedMap && printedMap.invalidateSize) {
    var framed = null;  // the view the page opened on, which frames the area
    printedMap.whenReady(function () { framed = printedMap.getBounds(); });
    var redraw = function () {
      printedMap.invalidateSize({animate: false});
      if (framed) { printedMap.fitBounds(framed, {animate: false}); }
    };
    window.addEventListener("beforeprint", redraw);
    window.addEventListener("afterprint", redraw);
    if (window.matchMedia) {
      var printing = window.matchMedia("print");
      if (printing.addEventListener) { printing.addEventListener("change", redraw); }
    }
  }

  var holder = document.querySelector("[data-draw-map]");
  var field = document.getElementById("area-geojson");
  var status = document.getElementById("draw-status");
  if (!holder || !field || typeof L === "undefined") { return; }
  var map = window[holder.getAttribute("data-draw-map")];
  var drawn = window[holder.getAttribute("data-drawn-items")];
  if (!map || !drawn) { return; }

  function say(message) {
    if (status) { status.textContent = message; }
  }

  function corners(layer) {
    var rings = layer.getLatLngs ? layer.getLatLngs() : [];
    var n = 0;
    (function count(list) {
      list.forEach(function (item) { if (Array.isArray(item)) { count(item); } else { n += 1; } });
    })(rings);
    return n;
  }

  function copyToField() {
    var layers = drawn.getLayers();
    if (!layers.length) {
      field.value = "";
      say("No area drawn.");
      return;
    }
    var feature = layers[layers.length - 1].toGeoJSON();
    field.value = JSON.stringify(feature.geometry);
    say("Area drawn (" + corners(layers[layers.length - 1]) + " corners). Press \u201cShow the profile\u201d.");
  }

  map.on(L.Draw.Event.CREATED, function (e) {
    // Folium's own handler has added the new shape already; keep only that one.
    drawn.getLayers().forEach(function (layer) {
      if (layer !== e.layer) { drawn.removeLayer(layer); }
    });
    copyToField();
  });
  map.on(L.Draw.Event.EDITED, copyToField);
  map.on(L.Draw.Event.DELETED, copyToField);

  // A shape already in the field (the form came back with an error): show it.
  if (field.value.trim()) {
    try {
      var shown = L.geoJSON(JSON.parse(field.value), {style: {color: "#b10e1e", weight: 3}}).addTo(map);
      if (shown.getBounds().isValid()) {
        var fit = function () { map.fitBounds(shown.getBounds(), {maxZoom: 15}); };
        fit();
        // Leaflet ignores a new view while the map's opening zoom still animates: fit again after it.
        map.once("zoomend", fit);
      }
    } catch (err) {
      say("The GeoJSON in the field could not be shown on the map.");
    }
  }
})();
