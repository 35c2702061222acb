"""The OS Open Names gazetteer: towns, villages and suburbs found by name, typos answered with
"did you mean", same-named places told apart."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from assetmap.db import finder
from assetmap.domain.search import Where
from assetmap.errors import BadInputError, NotFoundError
from assetmap.importers.places import import_places


@pytest.mark.parametrize("typed, label, lat, lon", [
    ("Craven Arms", "Craven Arms (Shropshire)", 52.44, -2.84),
    ("church stretton", "Church Stretton (Shropshire)", 52.54, -2.81),
    ("Uppermill", "Uppermill (Oldham)", 53.55, -2.00),
])
def test_towns_and_villages_people_type_are_found(db_session, typed, label, lat, lon):
    found = finder.locate(db_session, Where("place", typed))
    assert found["label"] == label
    assert found["lat"] == pytest.approx(lat, abs=0.02) and found["lon"] == pytest.approx(lon, abs=0.02)


def test_a_typo_gets_did_you_mean(db_session):
    with pytest.raises(NotFoundError) as typo:
        finder.locate(db_session, Where("place", "Craven Arm"))
    assert typo.value.details["suggestions"][0] == "Craven Arms, Shropshire"
    assert "Did you mean Craven Arms (Shropshire)" in typo.value.message
    with pytest.raises(NotFoundError) as typo:
        finder.locate(db_session, Where("place", "Upermill"))
    assert "Uppermill, Oldham" in typo.value.details["suggestions"]


def test_same_named_places_are_told_apart_and_picked_by_county_or_district(db_session):
    with pytest.raises(BadInputError) as many:
        finder.locate(db_session, Where("place", "Newtown"))
    suggestions = many.value.details["suggestions"]
    assert len(suggestions) == len(set(suggestions)) > 1
    assert "There are" in many.value.message and "places called Newtown" in many.value.message
    # each suggestion, typed, finds one place
    picked = finder.locate(db_session, Where("place", suggestions[0]))
    assert picked["label"].startswith("Newtown")
    shropshire = [s for s in suggestions if s.endswith(", Shropshire") or ", SY" in s or ", TF" in s]
    if shropshire:
        assert "Shropshire" in finder.locate(db_session, Where("place", shropshire[0]))["label"]


def test_the_web_finder_searches_from_a_village(client):
    html = client.get("/find?where=Craven+Arms").get_data(as_text=True)
    assert "Craven Arms (Shropshire)" in html
    typo = client.get("/find?where=Cravn+Arms")
    assert typo.status_code == 404
    assert re.search(r'href="/find\?where=Craven\+Arms(,|%2C)\+Shropshire"', typo.get_data(as_text=True))


def test_importing_the_same_file_again_changes_nothing(db_session, data_dir):
    before = db_session.execute(text("SELECT count(*) FROM place")).scalar_one()
    assert before > 40_000
    report = import_places(db_session, data_dir / "gazetteer" / "gb_populated_places_all_BNG_csv.zip")
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, before) and report.ok
