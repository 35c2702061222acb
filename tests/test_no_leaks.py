"""Nothing private leaks: the duplicate check names only published places, and absolute links in
public, cacheable responses come from the configured address, never from the Host header."""
from __future__ import annotations

import pytest

from assetmap.db import moderation
from assetmap.db.models import AssetStatus
from tests.factories import make_asset

BASE = "https://assets.example.org"
FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


def test_the_duplicate_check_names_only_published_places(client, db_session):
    published = make_asset(db_session, "Cabin Lane Community Hall", -3.0475, 52.8641)
    pending = make_asset(db_session, "Cabin Lane Community Hall Annexe", -3.0476, 52.8641,
                         status=AssetStatus.pending, address="1 Secret Row")
    db_session.flush()
    body = client.get("/contribute/duplicates", query_string={
        "name": "Cabin Lane Community Hall", "lat": "52.8641", "lon": "-3.0475"}).get_data(as_text=True)
    assert "Cabin Lane Community Hall" in body and "Annexe" not in body and "Secret Row" not in body
    # moderators reviewing a submission still see the pending ones
    found = moderation.find_duplicates(db_session, "Cabin Lane Community Hall", -3.0475, 52.8641,
                                       include_pending=True)
    assert {d["id"] for d in found} == {published.id, pending.id}


@pytest.mark.app_config(ASSETMAP_BASE_URL=BASE)
def test_absolute_links_ignore_a_forged_host(client, db_session):
    asset = make_asset(db_session, "Cabin Lane Community Hall", -3.0475, 52.8641)
    db_session.flush()
    responses = [
        client.get("/api/v1/assets?lat=52.8641&lon=-3.0475&radius_m=500", headers=FORGED),
        client.get(f"/api/v1/assets/{asset.id}", headers=FORGED),
        client.get("/oruk/", headers=FORGED),
        client.get("/exports/areas/E06000051/assets.csv", headers=FORGED),
        client.get("/exports/areas/E06000051/assets.meta.json", headers=FORGED),
        client.get(f"/shortlist?ids={asset.id}", headers=FORGED),
    ]
    for response in responses:
        assert response.status_code == 200, response.request.path
        text = response.get_data(as_text=True) + str(response.headers)
        assert "evil.example" not in text, response.request.path
    assert client.get(f"/api/v1/assets/{asset.id}", headers=FORGED).get_json()["properties"]["page_url"] == \
        f"{BASE}/assets/{asset.id}"
    assert client.get("/oruk/", headers=FORGED).get_json()["openapi_url"] == f"{BASE}/api/openapi.json"
    assert responses[3].headers["Link"].startswith(f"<{BASE}/exports/areas/E06000051/assets.meta.json>")
