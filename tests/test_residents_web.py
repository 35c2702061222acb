"""What a resident and a link worker see, without a browser: asset pages leave out what is not
known and link to fixing it; the shortlist prints distances from a chosen place; the embeddable
finder may be framed anywhere and sets no cookie."""
from __future__ import annotations

import re

from tests.factories import make_asset


def test_asset_page_leaves_out_empty_fields_and_links_to_fixing_it(client, db_session):
    bare = make_asset(db_session, "MARKET DRAYTON NHS HEALTH CENTRE", address="CHESHIRE STREET, MARKET DRAYTON")
    html = client.get(f"/assets/{bare.id}").get_data(as_text=True)
    assert "<h1>Market Drayton NHS Health Centre</h1>" in html
    assert "Listed officially as MARKET DRAYTON NHS HEALTH CENTRE" in html
    assert "Not known" not in html and "Not stated" not in html and "No contact details" not in html
    assert "Who runs it" not in html and "Accessibility</h2>" not in html
    assert "Not listed yet: opening hours, contact details, accessibility" in html
    assert f'href="/contribute/problem/{bare.id}"' in html and f'href="/contribute/change/{bare.id}"' in html


def test_same_named_places_in_results_are_told_apart_by_street(client, db_session):
    make_asset(db_session, "Market Drayton", category="library", address="Cheshire Street, Market Drayton",
               lon=-2.4840, lat=52.9040)
    make_asset(db_session, "Market Drayton", category="food-bank", address="The Parish Rooms, Church Street",
               lon=-2.4850, lat=52.9030)
    html = client.get("/find?where=TF9+1PH").get_data(as_text=True)
    assert 'Market Drayton<span class="asset-apart">, Cheshire Street</span>' in html
    assert 'Market Drayton<span class="asset-apart">, The Parish Rooms</span>' in html


def test_shortlist_prints_distances_from_a_chosen_postcode_and_bounds_its_ids(client, db_session):
    near = make_asset(db_session, "Near", lon=-3.0540, lat=52.8600)
    far = make_asset(db_session, "Far", lon=-2.7500, lat=52.7100)
    html = client.get(f"/shortlist?ids={near.id},{far.id}&from=SY11+1QD").get_data(as_text=True)
    distances = re.findall(r"<strong>([\d.]+ k?m) \([\d.]+ miles\)</strong> from SY11 1QD", html)
    assert len(distances) == 2 and distances[0].endswith(" m") and distances[1].endswith(" km")
    unknown = client.get(f"/shortlist?ids={near.id}&from=Cravn+Arms")
    assert unknown.status_code == 404 and "Craven Arms" in unknown.get_data(as_text=True)
    too_many = client.get("/shortlist?ids=" + ",".join(str(i) for i in range(1, 60)))
    assert too_many.status_code == 400


def test_embedded_finder_may_be_framed_anywhere_and_sets_no_cookie(client, db_session):
    make_asset(db_session, "Cae Glas park cafe", lon=-3.0490, lat=52.8560)
    response = client.get("/embed/find?postcode=SY11+1QD")
    assert response.status_code == 200
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "script-src 'none'" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers and "Set-Cookie" not in response.headers
    html = response.get_data(as_text=True)
    assert "Cae Glas park cafe" in html and 'target="_blank"' in html and "<script" not in html
    area = client.get("/embed/find?area=E06000051&category=library")
    assert area.status_code == 200 and "Set-Cookie" not in area.headers
    assert client.get("/embed/find?category=spaceport").status_code == 400
    page = client.get("/embed")  # the demo page is an ordinary page: not framable itself
    assert page.headers["X-Frame-Options"] == "DENY" and "/static/embed.js" in page.get_data(as_text=True)
    script = client.get("/static/embed.js")
    assert script.status_code == 200 and b"/embed/find" in script.data
    script.close()
