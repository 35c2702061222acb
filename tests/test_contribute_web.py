"""The volunteer's pages: add a place, suggest a change, report a problem; CSRF, validation,
honeypot, duplicates, the JSON helpers, size and rate limits. Real PostGIS, rolled back."""
import re

import pytest
from sqlalchemy import text

from assetmap.db.models import Asset, ChangeRequest, Revision
from tests.contribute_fixtures import OSWESTRY, OSWESTRY_POSTCODE, asset_form, csrf_token, latest_asset_id, submit
from tests.factories import make_asset

SHROPSHIRE = "E06000051"


def test_the_form_has_every_field_a_csrf_token_and_a_map_to_drop_a_pin_on(client):
    response = client.get("/contribute")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="csrf_token"' in html
    for field in ("name", "description", "asset_types", "five_ways", "postcode", "lat", "lon", "address",
                  "service_area_id", "phone", "email", "url", "hours_mon_state", "hours_sun_times",
                  "opening_hours_note", "cost", "is_free", "access_modes", "age_groups", "eligibility_note",
                  "accessibility", "accepting_referrals", "submitter_email", "website"):
        assert f'name="{field}"' in html, field
    assert 'data-pin-map="map_' in html and "L.map(" in html
    assert "/static/js/contribute.js" in html
    # Every visible input has a label.
    for input_id in re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html):
        assert f'for="{input_id}"' in html, input_id
    # Area-wide services: the wards and the whole local authority are offered.
    assert "The whole of Shropshire" in html and "(ward)" in html


def test_a_post_without_the_csrf_token_is_refused(client, db_session):
    response = client.post("/contribute", data=asset_form())
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert db_session.execute(text("SELECT count(*) FROM asset WHERE source = 'web'")).scalar_one() == 0


def test_a_submission_waits_for_review_with_its_revision_and_change_request(client, db_session):
    response = submit(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/contribute/thanks?kind=new")
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "after a volunteer moderator has checked it" in thanks
    asset = db_session.get(Asset, latest_asset_id(db_session, "Oswestry Knit and Natter"))
    assert asset.status.value == "pending" and asset.source == "web"
    assert asset.submitter_email == "volunteer@example.org"
    assert asset.opening_hours == {"tue": [["10:00", "12:00"]], "sun": []}
    assert asset.url == "https://www.example.org/knit"
    assert sorted(t.slug for t in asset.terms) == ["community-group", "connect", "keep-learning"]
    revision = db_session.query(Revision).filter_by(asset_id=asset.id).one()
    assert revision.action == "create" and revision.changes["name"] == [None, "Oswestry Knit and Natter"]
    assert revision.snapshot["location"] == [OSWESTRY["lon"], OSWESTRY["lat"]]
    request = db_session.query(ChangeRequest).filter_by(asset_id=asset.id).one()
    assert request.kind == "new" and request.status == "pending"
    # Pending: not on the public area page.
    assert "Oswestry Knit and Natter" not in client.get(f"/areas/{SHROPSHIRE}").get_data(as_text=True)


def test_without_a_pin_the_postcode_places_it(client, db_session):
    assert submit(client, lat="", lon="").status_code == 302
    metres = db_session.execute(text(
        "SELECT ST_Distance(a.location::geography, p.location::geography) FROM asset a, postcode p "
        "WHERE a.name = 'Oswestry Knit and Natter' AND p.postcode = :pc"), {"pc": OSWESTRY_POSTCODE}).scalar_one()
    assert metres < 0.5  # the postcode's position, to 6 decimal places


def test_problems_are_shown_against_their_fields_and_what_was_typed_is_kept(client, db_session):
    response = submit(client, name="", lat="51.5", lon="-0.12", email="not-an-email", hours_mon_state="open",
                      hours_mon_times="all day", asset_types=None)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html
    for message in ("Enter the name of the place or group", "Choose at least one type",
                    "That position is outside the areas this map covers",
                    "Enter an email address in the right format", "Monday: cannot read"):
        assert message in html
    assert 'id="name-error"' in html and 'aria-invalid="true"' in html
    assert 'value="not-an-email"' in html and 'value="all day"' in html
    assert db_session.execute(text("SELECT count(*) FROM asset WHERE source = 'web'")).scalar_one() == 0


def test_the_honeypot_pretends_to_accept_and_stores_nothing(client, db_session):
    response = submit(client, website="http://spam.example")
    assert response.status_code == 302
    assert db_session.execute(text("SELECT count(*) FROM change_request")).scalar_one() == 0


def test_a_likely_duplicate_is_shown_before_it_is_accepted(client, db_session):
    existing = make_asset(db_session, "Oswestry Knit & Natter Group", lon=OSWESTRY["lon"] + 0.0005, lat=OSWESTRY["lat"])
    response = submit(client)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Is it already on the map?" in html and "Oswestry Knit &amp; Natter Group" in html
    assert f"/contribute/change/{existing.id}" in html
    assert db_session.execute(text("SELECT count(*) FROM asset WHERE source = 'web'")).scalar_one() == 0
    # Confirmed as a different place: accepted.
    assert submit(client, not_duplicate="y").status_code == 302
    assert db_session.execute(text("SELECT count(*) FROM asset WHERE source = 'web'")).scalar_one() == 1


def test_duplicates_json_finds_similar_names_within_150_m_only(client, db_session):
    near = make_asset(db_session, "Oswestry Library", lon=OSWESTRY["lon"], lat=OSWESTRY["lat"] + 0.0009)  # ~100 m
    make_asset(db_session, "Oswestry Library Annexe", lon=OSWESTRY["lon"], lat=OSWESTRY["lat"] + 0.01)  # ~1.1 km
    make_asset(db_session, "Fish and chips", lon=OSWESTRY["lon"], lat=OSWESTRY["lat"])
    body = client.get("/contribute/duplicates", query_string={"name": "oswestry library", **OSWESTRY},
                      headers={"Accept": "application/json"}).get_json()
    assert [d["id"] for d in body["duplicates"]] == [near.id]
    assert 90 <= body["duplicates"][0]["distance_m"] <= 110
    assert body["duplicates"][0]["change_url"] == f"/contribute/change/{near.id}"
    assert "licence" in body["meta"] and "attribution" in body["meta"]
    bad = client.get("/contribute/duplicates?name=x&lat=north&lon=1", headers={"Accept": "application/json"})
    assert bad.status_code == 400 and bad.get_json()["error"]["message"] == "lat must be a number"


def test_postcode_lookup_json(client, db_session):
    body = client.get("/contribute/postcode", query_string={"postcode": "sy112aa"}).get_json()
    assert body["postcode"] == OSWESTRY_POSTCODE and body["inside"] is True
    assert abs(body["lat"] - 52.855) < 0.01 and "Crown copyright" in body["meta"]["attribution"]
    halifax = db_session.execute(text("SELECT min(postcode) FROM postcode WHERE outward = 'HX1'")).scalar_one()
    outside = client.get("/contribute/postcode", query_string={"postcode": halifax}).get_json()
    assert outside["postcode"] == halifax and outside["inside"] is False
    missing = client.get("/contribute/postcode?postcode=SY99 9ZZ", headers={"Accept": "application/json"})
    assert missing.status_code == 404
    assert client.get("/contribute/postcode?postcode=banana", headers={"Accept": "application/json"}).status_code == 400


def test_suggest_a_change_is_prefilled_and_makes_a_change_request_not_an_edit(client, db_session):
    asset = make_asset(db_session, "Ludlow Library", lon=-2.7180, lat=52.3680, category="library",
                       phone="01584 000000", opening_hours={"mon": [["09:00", "17:00"]]})
    html = client.get(f"/contribute/change/{asset.id}").get_data(as_text=True)
    assert 'value="Ludlow Library"' in html and 'value="01584 000000"' in html and 'value="09:00-17:00"' in html
    token = csrf_token(client, f"/contribute/change/{asset.id}")
    data = asset_form(name="Ludlow Library", asset_types=["library"], lat="52.368", lon="-2.718", postcode="",
                      phone="01584 111111", comment="New number since May", csrf_token=token)
    response = client.post(f"/contribute/change/{asset.id}", data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith("kind=change")
    request = db_session.query(ChangeRequest).filter_by(asset_id=asset.id, kind="change").one()
    assert request.payload["phone"] == "01584 111111" and request.comment == "New number since May"
    db_session.refresh(asset)
    assert asset.phone == "01584 000000"  # untouched until a moderator approves


def test_a_change_with_nothing_changed_is_sent_back(client, db_session):
    asset = make_asset(db_session, "Ludlow Library", lon=-2.7180, lat=52.3680, category="library")
    html = client.get(f"/contribute/change/{asset.id}").get_data(as_text=True)
    from tests.contribute_fixtures import form_of

    fields = form_of(html)
    response = client.post(f"/contribute/change/{asset.id}", data=fields)
    assert response.status_code == 400
    assert "Nothing has been changed" in response.get_data(as_text=True)


def test_only_published_assets_take_changes_and_problem_reports(client, db_session):
    pending = make_asset(db_session, "Not yet", status="pending")
    assert client.get(f"/contribute/change/{pending.id}").status_code == 404
    assert client.get(f"/contribute/problem/{pending.id}").status_code == 404
    assert client.get("/contribute/change/999999").status_code == 404


def test_report_a_problem(client, db_session):
    asset = make_asset(db_session, "Old Hall")
    url = f"/contribute/problem/{asset.id}"
    html = client.get(url + "?type=closed").get_data(as_text=True)
    assert 'value="closed" checked' in html
    response = client.post(url, data={"problem_type": "other", "csrf_token": csrf_token(client, url)})
    assert response.status_code == 400 and "Tell us what is wrong" in response.get_data(as_text=True)
    response = client.post(url, data={"problem_type": "closed", "comment": "Shut in May",
                                      "csrf_token": csrf_token(client, url)})
    assert response.status_code == 302
    report = db_session.query(ChangeRequest).filter_by(asset_id=asset.id).one()
    assert (report.kind, report.problem_type, report.comment) == ("problem", "closed", "Shut in May")


def test_too_much_data_gets_a_clear_413_page(app, client):
    token = csrf_token(client, "/contribute")
    app.config["MAX_CONTENT_LENGTH"] = 2_000_000
    response = client.post("/contribute", data={"csrf_token": token, "description": "x" * 2_100_000})
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "Too much to send" in html and "the limit is 2 MB" in html


def test_the_eleventh_submission_in_a_minute_is_refused(db_url, db_conn):
    from sqlalchemy.orm import Session

    from assetmap.web import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test",
                      "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://"})
    app.extensions["assetmap.session_factory"] = lambda: Session(
        bind=db_conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    client = app.test_client()
    token = csrf_token(client, "/contribute")
    statuses = [client.post("/contribute", data={"csrf_token": token, "name": ""}).status_code for _ in range(11)]
    assert statuses == [400] * 10 + [429]
    # Reading the form is not limited; the other kinds of submission share the allowance.
    assert client.get("/contribute").status_code == 200
    assert client.post("/contribute/problem/1", data={"csrf_token": token}).status_code == 429


def test_hours_written_as_said_are_read_back_to_confirm_then_saved(client, db_session):
    days_empty = {f"hours_{day}_{part}": "" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                  for part in ("state", "times")}
    response = submit(client, hours_text="Mon-Fri 9-5, term time only", **days_empty)
    assert response.status_code == 200  # not saved yet: shown back to check
    html = response.get_data(as_text=True)
    assert "as:</strong> Mon–Fri 09:00–17:00; Sat–Sun closed" in html
    assert 'id="hours_fri_times" name="hours_fri_times" value="09:00-17:00"' in html
    assert "term time only" in html
    assert db_session.execute(text("SELECT count(*) FROM asset WHERE source = 'web'")).scalar_one() == 0
    # Confirmed: the days as read back are sent again, and saved.
    read = {f"hours_{day}_state": "open" for day in ("mon", "tue", "wed", "thu", "fri")}
    read |= {f"hours_{day}_times": "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}
    read |= {"hours_sat_state": "closed", "hours_sun_state": "closed", "hours_sat_times": "", "hours_sun_times": "",
             "opening_hours_note": "term time only"}
    assert submit(client, **read).status_code == 302
    asset = db_session.get(Asset, latest_asset_id(db_session, "Oswestry Knit and Natter"))
    assert asset.opening_hours["wed"] == [["09:00", "17:00"]] and asset.opening_hours["sun"] == []
    assert asset.opening_hours_note == "term time only"


def test_hours_are_read_as_they_are_typed_by_the_same_reader_as_the_button(client, db_session):
    form = client.get("/contribute").get_data(as_text=True)
    assert 'data-hours-url="/contribute/hours"' in form and 'id="hours-live" aria-live="polite"' in form
    assert "js/hours.js" in form

    def read(said):
        # A plain GET: no session, no CSRF token (it writes nothing).
        return client.get("/contribute/hours", query_string={"text": said}, headers={"Accept": "application/json"})

    body = read("Mon-Fri 9-5").get_json()
    assert body == {"said": "Mon-Fri 9-5", "reading": "Mon–Fri 09:00–17:00; Sat–Sun closed", "notes": []}
    assert read("Tuesdays 10am - 12pm, term time only").get_json() == {
        "said": "Tuesdays 10am - 12pm, term time only", "notes": ["term time only"],
        "reading": "Mon closed; Tue 10:00–12:00; Wed–Sun closed; note: term time only"}
    assert read("whenever the kettle is on").get_json()["reading"] is None
    assert read("").get_json() == {"said": "", "reading": None, "notes": []}
    # What the page says after "Read these hours" is the same reading.
    page = submit(client, hours_text="Tuesdays 10am - 12pm, term time only", read_hours="1").get_data(as_text=True)
    assert "as:</strong> Mon closed; Tue 10:00–12:00; Wed–Sun closed; note: term time only" in page
    too_long = read("Mon-Fri 9-5 " * 50)
    assert too_long.status_code == 400 and "under 500 characters" in too_long.get_json()["error"]["message"]
    assert client.post("/contribute/hours", data={"text": "Mon-Fri 9-5"}).status_code in (400, 405)
    assert db_session.execute(text("SELECT count(*) FROM asset WHERE source = 'web'")).scalar_one() == 0


@pytest.mark.app_config(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                        ASSETMAP_HOURS_READ_RATE_LIMIT="3 per minute")
def test_reading_hours_as_typed_is_rate_limited(client):
    statuses = [client.get("/contribute/hours?text=9-5", headers={"Accept": "application/json"}).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_day_times_take_am_and_pm_and_unreadable_said_hours_are_shown_as_a_problem(client, db_session):
    assert submit(client, hours_tue_state="open", hours_tue_times="9.30am to 1pm").status_code == 302
    asset = db_session.get(Asset, latest_asset_id(db_session, "Oswestry Knit and Natter"))
    assert asset.opening_hours["tue"] == [["09:30", "13:00"]]
    response = submit(client, hours_text="whenever the kettle is on", read_hours="1")
    assert response.status_code == 400
    assert "We could not read these hours" in response.get_data(as_text=True)


def test_a_duplicate_needs_a_telling_word_in_common_not_the_town_name(client, db_session):
    library = make_asset(db_session, "Oswestry", lon=OSWESTRY["lon"], lat=OSWESTRY["lat"] + 0.0012)  # ~133 m
    town_library = make_asset(db_session, "Oswestry Town Library", lon=OSWESTRY["lon"], lat=OSWESTRY["lat"] + 0.00018)

    def found(name):
        body = client.get("/contribute/duplicates", query_string={"name": name, **OSWESTRY},
                          headers={"Accept": "application/json"}).get_json()
        return [d["id"] for d in body["duplicates"]]

    assert library.id not in found("Oswestry Knit and Natter")
    assert found("Oswestry Library") == [town_library.id]
    assert submit(client).status_code == 302  # the Knit and Natter is not held up by the library


def test_who_runs_it_links_to_an_organisation_on_the_map_or_adds_one(client, db_session):
    from assetmap.db.models import Organisation

    council = Organisation(name="Oswestry Town Council", source="test", source_id="otc")
    db_session.add(council)
    db_session.flush()
    suggestions = client.get("/contribute/organisations?q=oswestry coun").get_json()["organisations"]
    assert [o["name"] for o in suggestions] == ["Oswestry Town Council"]
    assert client.get("/contribute/organisations?q=").get_json()["organisations"] == []
    assert 'list="organisation-options"' in client.get("/contribute").get_data(as_text=True)

    assert submit(client, organisation_name="  oswestry town  council ").status_code == 302
    asset = db_session.get(Asset, latest_asset_id(db_session, "Oswestry Knit and Natter"))
    assert asset.organisation_id == council.id  # linked, not a second council

    assert submit(client, name="Oswestry Repair Cafe", organisation_name="Friends of Cae Glas Park").status_code == 302
    asset = db_session.get(Asset, latest_asset_id(db_session, "Oswestry Repair Cafe"))
    assert asset.organisation.name == "Friends of Cae Glas Park" and asset.organisation.source == "web"
