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


HOME = ("E06000051", "E08000004")  # the default areas: Shropshire, Oldham


def test_same_named_places_in_or_near_the_home_areas_come_first(db_session):
    with pytest.raises(BadInputError) as westons:
        finder.locate(db_session, Where("place", "Weston"), HOME)
    suggestions = westons.value.details["suggestions"]
    # The four Westons of Shropshire (inside), biggest first, then the rest of Britain's.
    assert sorted(suggestions[:4]) == ["Weston, SY10", "Weston, SY4", "Weston, SY7", "Weston, TF13"]
    assert not any(s in suggestions[4:] for s in suggestions[:4])
    message = westons.value.message
    assert message.index("Weston, SY4 (Shropshire)") < message.index("(Cheshire East)")
    with pytest.raises(BadInputError) as anywhere:
        finder.locate(db_session, Where("place", "Weston"))  # no home: biggest first
    assert not anywhere.value.details["suggestions"][0].startswith(("Weston, SY", "Weston, TF"))
    # Newport, Telford (near Shropshire, not in it) before the Isle of Wight's, a town as big.
    with pytest.raises(BadInputError) as newports:
        finder.locate(db_session, Where("place", "Newport"), HOME)
    assert newports.value.details["suggestions"][0] == "Newport, Telford and Wrekin"
    with pytest.raises(BadInputError) as newports:
        finder.locate(db_session, Where("place", "Newport"))
    assert newports.value.details["suggestions"][0] == "Newport, Isle of Wight"
    # A place of a name found once is found wherever it is.
    assert finder.locate(db_session, Where("place", "Uppermill"), ("E06000051",))["label"] == "Uppermill (Oldham)"


def test_the_web_finder_lists_the_home_areas_places_first(client):
    page = client.get("/find?where=Weston")
    assert page.status_code == 400
    links = re.findall(r'<li><a href="/find\?where=([^"]+)">([^<]+)</a>', page.get_data(as_text=True))
    assert [label for _, label in links[:4]] and all(
        label.startswith(("Weston, SY", "Weston, TF")) for _, label in links[:4]), links


@pytest.mark.parametrize("typed, code", [
    ("Craven Arms & Broadstone", "E02006043"),
    ("craven arms broadstone", "E02006043"),
    ("Woore, Prees & Tilstock", "E02006016"),  # a comma that is not "place, county"
])
def test_msoas_are_found_by_their_commons_library_names(db_session, typed, code):
    found = finder.locate(db_session, Where("place", typed), HOME)
    inside = db_session.execute(text(
        "SELECT ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) FROM area "
        "WHERE level = 'msoa21' AND code = :code"), {"lon": found["lon"], "lat": found["lat"], "code": code},
    ).scalar_one()
    assert inside, found
    assert found["label"].endswith("(Shropshire)")


def test_a_town_and_the_msoa_named_after_it_are_suggested_once_as_the_town(db_session):
    with pytest.raises(NotFoundError) as typo:
        finder.locate(db_session, Where("place", "Church Stretten"), HOME)
    suggestions = typo.value.details["suggestions"]
    assert suggestions[0] == "Church Stretton, Shropshire" and "Church Stretton" not in suggestions
    assert typo.value.message.count("Church Stretton (Shropshire)") == 1


def test_an_msoa_name_spelt_nearly_right_gets_did_you_mean(db_session):
    with pytest.raises(NotFoundError) as typo:
        finder.locate(db_session, Where("place", "Highley & Ditton Prior"), HOME)
    assert typo.value.details["suggestions"][0] == "Highley & Ditton Priors"
    assert finder.locate(db_session, Where("place", "Highley & Ditton Priors"))["label"] == \
        "Highley & Ditton Priors (Shropshire)"


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
