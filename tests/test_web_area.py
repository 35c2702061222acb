"""The area overview page: a list beside a Folium map that works offline, with inert text."""
import json
import re

from tests.factories import make_asset

SHROPSHIRE = "E06000051"


def _map_rows(html):
    """The marker rows [lat, lon, popup html, tooltip] of every layer on the map."""
    return [row for block in re.findall(r"var data = (\[.*?\]);\n", html) for row in json.loads(block)]


def test_home_is_one_search_box_with_the_default_areas_places_a_page_at_a_time(client, db_session):
    for i in range(20):
        make_asset(db_session, f"BOOTS NHS PHARMACY {i:02d}", category="pharmacy", address=f"{i} HIGH STREET")
    html = client.get("/").get_data(as_text=True)
    assert 'action="/find"' in html and 'id="where"' in html and 'id="use-location"' in html
    assert "Places and groups in Shropshire" in html
    assert "Boots NHS Pharmacy 00" in html and "BOOTS NHS" not in html  # readable, acronyms kept
    assert html.count('class="asset-name"') == 15 and 'rel="next" href="/?page=2"' in html
    second = client.get("/?page=2").get_data(as_text=True)
    assert "Boots NHS Pharmacy 19" in second and 'rel="prev"' in second
    assert client.get("/?page=x").status_code == 400


def test_area_page_lists_assets_and_maps_them_with_local_scripts_only(client, db_session):
    make_asset(db_session, "Oswestry Community Centre", category="community-venue")
    make_asset(db_session, "Ludlow Library", lon=-2.7180, lat=52.3680, category="library")
    make_asset(db_session, "Hidden pending place", status="pending")
    html = client.get(f"/areas/{SHROPSHIRE}").get_data(as_text=True)
    assert "Oswestry Community Centre" in html and "Ludlow Library" in html
    assert "Hidden pending place" not in html
    assert sorted(row[3] for row in _map_rows(html)) == ["Ludlow Library", "Oswestry Community Centre"]
    # Every script and stylesheet comes from the app itself.
    external = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
    for path in re.findall(r'(?:src|href)="(/static/vendor/[^"]+)"', html):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()
    assert "Contains National Statistics data" in html  # attribution in the footer


def test_script_in_a_name_is_inert_in_list_popup_and_tooltip(client, db_session):
    evil = "<script>alert(1)</script> `${alert(2)}` \\u"
    make_asset(db_session, evil)
    html = client.get(f"/areas/{SHROPSHIRE}").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    scripts = "".join(re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.S))
    assert "L.circleMarker(" in scripts
    # Inside the map's JavaScript template strings no backtick, ${ or backslash of the name survives.
    assert "${alert(2)}" not in scripts and "`${" not in scripts
    rows = _map_rows(html)
    assert [r[3] for r in rows] == ["&lt;script&gt;alert(1)&lt;/script&gt; &#96;&#36;{alert(2)}&#96; &#92;u"]
    assert rows[0][2].startswith("<strong>&lt;script&gt;")  # the popup: our markup around inert text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.split('class="asset-list"')[1]  # the list


def test_category_filter_and_bad_values(client, db_session):
    make_asset(db_session, "A library", category="library")
    make_asset(db_session, "A venue", category="community-venue")
    html = client.get(f"/areas/{SHROPSHIRE}?category=library").get_data(as_text=True)
    assert "A library" in html and "A venue" not in html
    bad = client.get(f"/areas/{SHROPSHIRE}?category=spaceport")
    assert bad.status_code == 400
    assert "spaceport" in bad.get_data(as_text=True)
    assert client.get("/areas/E99999999").status_code == 404


def test_vendor_route_serves_only_map_packages(client):
    response = client.get("/static/vendor/leaflet/dist/leaflet.js")
    assert response.status_code == 200
    response.close()
    assert client.get("/static/vendor/.package-lock.json").status_code == 404
    assert client.get("/static/vendor/../package.json").status_code == 404
