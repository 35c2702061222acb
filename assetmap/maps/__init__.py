"""Maps: folium map builders (plain data in, ``folium.Map`` out) and, in :mod:`.offline`, the
app's own copies of Leaflet and its plugins."""
