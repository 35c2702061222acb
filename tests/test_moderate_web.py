"""Moderation: the queue, approve / edit-then-approve / reject, change requests and problem
reports, concurrent edits, archive, history and restore, the stale list, accounts and roles."""
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from assetmap.db import moderation
from assetmap.db.models import Asset, ChangeRequest, Revision
from assetmap.errors import ConflictError
from tests.contribute_fixtures import (
    OSWESTRY_POSTCODE,
    asset_form,
    csrf_token,
    form_of,
    latest_asset_id,
    make_user,
    sign_in,
    submit,
)
from tests.factories import make_asset

SHROPSHIRE = "E06000051"


def review(client, url, decision, **changes):
    """Open a review or edit page and send its form back as a browser would, with ``changes``."""
    html = client.get(url).get_data(as_text=True)
    fields = form_of(html)
    fields.update(changes)
    if decision:
        fields["decision"] = decision
    return client.post(url, data=fields)


def test_moderation_needs_a_signed_in_moderator(app, client, db_session):
    response = client.get("/moderate")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    make_user(db_session, "vol@example.org", "volunteer")
    volunteer = app.test_client()
    assert sign_in(volunteer, "vol@example.org").status_code == 302
    assert volunteer.get("/moderate").status_code == 403
    assert volunteer.get("/moderate/stale").status_code == 403
    assert 'href="/moderate"' not in volunteer.get("/contribute").get_data(as_text=True)


def test_submission_pending_then_approved_is_on_the_area_page_and_the_api(client, mod_client, db_session):
    name = "Oswestry Repair Café"
    assert submit(client, name=name).status_code == 302
    asset_id = latest_asset_id(db_session, name)
    assert client.get(f"/api/v1/assets/{asset_id}").status_code == 404  # pending: not public
    queue = mod_client.get("/moderate").get_data(as_text=True)
    assert name in queue and f"/moderate/new/{asset_id}" in queue
    assert 'href="/moderate"' in mod_client.get("/contribute").get_data(as_text=True)  # nav link for moderators

    page = mod_client.get(f"/moderate/new/{asset_id}").get_data(as_text=True)
    assert "What they sent" in page and "Repair Café" in page and "L.circleMarker(" in page
    response = review(mod_client, f"/moderate/new/{asset_id}", "approve")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "is on the map now" in mod_client.get("/moderate").get_data(as_text=True)

    assert name in client.get(f"/areas/{SHROPSHIRE}").get_data(as_text=True)
    assert name in [s["name"] for s in client.get("/oruk/services").get_json()["contents"]]
    api = client.get("/api/v1/assets", query_string={"postcode": OSWESTRY_POSTCODE}).get_json()
    assert name in [f["properties"]["name"] for f in api["features"]]
    assert client.get(f"/api/v1/assets/{asset_id}").get_json()["properties"]["name"] == name
    assert name in client.get("/find", query_string={"postcode": OSWESTRY_POSTCODE}).get_data(as_text=True)
    asset = db_session.get(Asset, asset_id)
    db_session.refresh(asset)
    assert asset.status.value == "published" and asset.last_verified_at is not None
    assert asset.reviewed_by_id is not None
    actions = [r.action for r in db_session.query(Revision).filter_by(asset_id=asset_id).order_by(Revision.id)]
    assert actions == ["create", "approve"]
    assert db_session.query(ChangeRequest).filter_by(asset_id=asset_id).one().status == "approved"
    assert f"/moderate/new/{asset_id}" not in mod_client.get("/moderate").get_data(as_text=True)


def test_edit_then_approve_keeps_the_moderators_edits(client, mod_client, db_session):
    submit(client, name="Oswestry Men's Shed", phone="01691 000000")
    asset_id = latest_asset_id(db_session, "Oswestry Men's Shed")
    response = review(mod_client, f"/moderate/new/{asset_id}", "approve", name="Oswestry Men’s Shed",
                      phone="01691 222222", reason="tidied the apostrophe")
    assert response.status_code == 302
    row = db_session.execute(text("SELECT name, phone, status::text FROM asset WHERE id = :i"), {"i": asset_id}).one()
    assert tuple(row) == ("Oswestry Men’s Shed", "01691 222222", "published")
    revision = db_session.query(Revision).filter_by(asset_id=asset_id, action="approve").one()
    assert revision.changes["phone"] == ["01691 000000", "01691 222222"]
    assert revision.changes["status"] == ["pending", "published"] and revision.reason == "tidied the apostrophe"


def test_an_edit_that_fails_the_checks_is_shown_not_saved(client, mod_client, db_session):
    submit(client)
    asset_id = latest_asset_id(db_session, "Oswestry Knit and Natter")
    response = review(mod_client, f"/moderate/new/{asset_id}", "approve", email="broken")
    assert response.status_code == 400
    assert "Enter an email address in the right format" in response.get_data(as_text=True)
    status = db_session.execute(text("SELECT status::text FROM asset WHERE id = :i"), {"i": asset_id}).scalar()
    assert status == "pending"


def test_rejected_never_shows(client, mod_client, db_session):
    submit(client, name="Definitely Not Spam")
    asset_id = latest_asset_id(db_session, "Definitely Not Spam")
    response = review(mod_client, f"/moderate/new/{asset_id}", "reject")
    assert response.status_code == 400 and "Enter a reason for rejecting it" in response.get_data(as_text=True)
    response = review(mod_client, f"/moderate/new/{asset_id}", "reject", reason="advertising")
    assert response.status_code == 302
    assert "Definitely Not Spam" not in client.get(f"/areas/{SHROPSHIRE}").get_data(as_text=True)
    assert "Definitely Not Spam" not in [s["name"] for s in client.get("/oruk/services").get_json()["contents"]]
    api = client.get("/api/v1/assets", query_string={"postcode": OSWESTRY_POSTCODE}).get_json()
    assert "Definitely Not Spam" not in [f["properties"]["name"] for f in api["features"]]
    assert client.get(f"/api/v1/assets/{asset_id}").status_code == 404
    assert client.get(f"/contribute/change/{asset_id}").status_code == 404
    revision = db_session.query(Revision).filter_by(asset_id=asset_id, action="reject").one()
    assert revision.reason == "advertising" and revision.status_after == "rejected"
    # Reviewing it again is refused, not repeated.
    assert mod_client.get(f"/moderate/new/{asset_id}").status_code == 404


def test_a_script_name_is_inert_in_pages_and_map_popups(client, mod_client, db_session):
    evil = "<script>alert(1)</script> `${alert(2)}`"
    assert submit(client, name=evil).status_code == 302
    asset_id = latest_asset_id(db_session, evil)
    for html in (mod_client.get("/moderate").get_data(as_text=True),
                 mod_client.get(f"/moderate/new/{asset_id}").get_data(as_text=True)):
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    review_page = mod_client.get(f"/moderate/new/{asset_id}").get_data(as_text=True)
    scripts = "".join(re.findall(r"<script[^>]*>(.*?)</script>", review_page, flags=re.S))
    assert "${alert(2)}" not in scripts and "`${" not in scripts
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#96;&#36;{alert(2)}&#96;" in scripts  # popup and tooltip
    assert review(mod_client, f"/moderate/new/{asset_id}", "approve").status_code == 302
    area = client.get(f"/areas/{SHROPSHIRE}").get_data(as_text=True)
    assert "<script>alert(1)" not in area
    area_scripts = "".join(re.findall(r"<script[^>]*>(.*?)</script>", area, flags=re.S))
    assert "${alert(2)}" not in area_scripts
    history = mod_client.get(f"/moderate/assets/{asset_id}").get_data(as_text=True)
    assert "<script>alert(1)" not in history and "&lt;script&gt;" in history


def test_a_suggested_change_shows_field_by_field_and_approving_applies_it(client, mod_client, db_session):
    asset = make_asset(db_session, "Ludlow Library", lon=-2.7180, lat=52.3680, category="library", phone="01584 000000")
    token = csrf_token(client, f"/contribute/change/{asset.id}")
    client.post(f"/contribute/change/{asset.id}", data=asset_form(
        name="Ludlow Library", asset_types=["library"], lat="52.3685", lon="-2.7180", postcode="", five_ways=None,
        phone="01584 111111", comment="new number", csrf_token=token))
    request_id = db_session.query(ChangeRequest).filter_by(asset_id=asset.id).one().id
    queue = mod_client.get("/moderate?kind=change").get_data(as_text=True)
    assert "Ludlow Library" in queue and "Phone" in queue and "Position on the map" in queue

    page = mod_client.get(f"/moderate/requests/{request_id}").get_data(as_text=True)
    assert "What would change" in page
    assert "01584 000000" in page and "01584 111111" in page  # Now and Proposed
    assert page.count("L.circleMarker(") == 2  # where it is and where it would be
    assert review(mod_client, f"/moderate/requests/{request_id}", "approve").status_code == 302
    db_session.refresh(asset)
    assert asset.phone == "01584 111111"
    revision = db_session.query(Revision).filter_by(asset_id=asset.id).order_by(Revision.id.desc()).first()
    assert revision.action == "update" and revision.changes["phone"] == ["01584 000000", "01584 111111"]
    assert revision.reason.startswith(f"change request {request_id}")
    assert db_session.get(ChangeRequest, request_id).status == "approved"


def test_approving_an_older_suggestion_does_not_undo_changes_made_since(client, mod_client, db_session, moderator):
    asset = make_asset(db_session, "Ludlow Library", lon=-2.7180, lat=52.3680, category="library")
    token = csrf_token(client, f"/contribute/change/{asset.id}")
    client.post(f"/contribute/change/{asset.id}", data=asset_form(
        name="Ludlow Library", asset_types=["library"], lat="52.368", lon="-2.718", postcode="", five_ways=None,
        phone="01584 111111", csrf_token=token))
    request = db_session.query(ChangeRequest).filter_by(asset_id=asset.id).one()
    assert set(request.payload) >= {"phone"} and "name" not in request.payload  # only what they changed
    moderation.update_asset(db_session, asset.id, {"name": "Ludlow Library and Museum"}, 1, moderator["id"], "rename")
    queue = mod_client.get("/moderate?kind=change").get_data(as_text=True)
    assert "Phone" in queue and "Name" not in queue.split("Ludlow Library and Museum")[1].split("</tr>")[0]
    assert review(mod_client, f"/moderate/requests/{request.id}", "approve").status_code == 302
    db_session.refresh(asset)
    assert (asset.name, asset.phone) == ("Ludlow Library and Museum", "01584 111111")


def test_a_problem_report_can_archive_the_place(client, mod_client, db_session):
    asset = make_asset(db_session, "Old Hall")
    url = f"/contribute/problem/{asset.id}"
    client.post(url, data={"problem_type": "closed", "comment": "Shut in May", "csrf_token": csrf_token(client, url)})
    request_id = db_session.query(ChangeRequest).filter_by(asset_id=asset.id).one().id
    page = mod_client.get(f"/moderate/requests/{request_id}").get_data(as_text=True)
    assert "It has closed" in page and "Shut in May" in page
    assert review(mod_client, f"/moderate/requests/{request_id}", "archive").status_code == 400  # needs a reason
    assert review(mod_client, f"/moderate/requests/{request_id}", "archive", reason="closed in May").status_code == 302
    db_session.refresh(asset)
    assert asset.status.value == "archived"
    assert "Old Hall" not in client.get(f"/areas/{SHROPSHIRE}").get_data(as_text=True)
    assert db_session.get(ChangeRequest, request_id).status == "approved"
    assert db_session.execute(text("SELECT count(*) FROM asset WHERE id = :i"), {"i": asset.id}).scalar() == 1


def test_the_second_of_two_moderators_editing_at_once_is_refused(app, mod_client, db_session):
    asset = make_asset(db_session, "Shrewsbury Food Hub", lon=-2.7500, lat=52.7080)
    make_user(db_session, "mod2@example.org", "moderator")
    other = app.test_client()
    sign_in(other, "mod2@example.org")
    first_form = form_of(mod_client.get(f"/moderate/assets/{asset.id}/edit").get_data(as_text=True))
    second_form = form_of(other.get(f"/moderate/assets/{asset.id}/edit").get_data(as_text=True))
    assert first_form["version"] == second_form["version"] == "1"

    first_form.update(phone="01743 111111", reason="first")
    assert mod_client.post(f"/moderate/assets/{asset.id}/edit", data=first_form).status_code == 302
    second_form.update(phone="01743 999999", reason="second")
    response = other.post(f"/moderate/assets/{asset.id}/edit", data=second_form)
    assert response.status_code == 409
    assert "changed since you opened it" in response.get_data(as_text=True)
    db_session.refresh(asset)
    assert asset.phone == "01743 111111" and asset.version == 2


def test_a_concurrent_commit_is_caught_by_the_version_counter(db_session, moderator):
    """Between reading the asset and writing it, another transaction saved it: StaleDataError → 409."""
    asset = make_asset(db_session, "Market Hall")
    db_session.commit()
    loaded = db_session.get(Asset, asset.id)  # version 1, as this request saw it
    db_session.execute(text("UPDATE asset SET version = version + 1, phone = '1' WHERE id = :i"), {"i": asset.id})
    values = moderation.get_asset(db_session, asset.id)
    values = {k: values[k] for k in values if k in asset_form()} | {"name": "Market Hall (new)"}
    with pytest.raises(ConflictError, match="changed since you opened it"):
        moderation.update_asset(db_session, loaded.id, values, 1, moderator["id"], "edit")


def test_history_and_restore_of_an_old_revision(mod_client, db_session, moderator):
    asset = make_asset(db_session, "Wem Town Hall", lon=-2.7231, lat=52.8557)
    moderation.update_asset(db_session, asset.id, {"name": "Wem Town Hall Community Room"}, 1, moderator["id"],
                            "renamed")
    moderation.update_asset(db_session, asset.id, {"name": "Wem Hall", "phone": "01939 000000"}, 2, moderator["id"],
                            "vandalised")
    first = db_session.query(Revision).filter_by(asset_id=asset.id).order_by(Revision.id).first()
    page = mod_client.get(f"/moderate/assets/{asset.id}").get_data(as_text=True)
    assert "vandalised" in page and "renamed" in page and "Wem Town Hall Community Room" in page
    assert f"/moderate/assets/{asset.id}/restore/{first.id}" in page
    # The button names the version it brings back, under the "After" side of that change.
    day = first.created_at.strftime("%-d %B")
    restore_form = page.split(f'id="revision-{first.id}"')[1].split("</li>")[0]
    assert f"Restore version 2 of {day}</button>" in restore_form
    assert "After (version 2)" in restore_form and 'class="restore-cell"' in restore_form

    token = csrf_token(mod_client, f"/moderate/assets/{asset.id}")
    response = mod_client.post(f"/moderate/assets/{asset.id}/restore/{first.id}",
                               data={"csrf_token": token, "version": "3", "reason": "undo vandalism"})
    assert response.status_code == 302
    assert f"Restored version 2 of {day}" in mod_client.get(response.headers["Location"]).get_data(as_text=True)
    db_session.refresh(asset)
    assert (asset.name, asset.phone, asset.version) == ("Wem Town Hall Community Room", None, 4)
    revisions = db_session.query(Revision).filter_by(asset_id=asset.id).order_by(Revision.id).all()
    assert [r.action for r in revisions] == ["update", "update", "restore"]  # the old ones untouched
    assert revisions[-1].changes == {"name": ["Wem Hall", "Wem Town Hall Community Room"],
                                     "phone": ["01939 000000", None]}
    assert revisions[-1].reason == f"restored revision {first.id}: undo vandalism"
    # A stale version on the restore form is refused too.
    response = mod_client.post(f"/moderate/assets/{asset.id}/restore/{first.id}",
                               data={"csrf_token": token, "version": "3"})
    assert response.status_code == 409


def test_revisions_are_append_only_in_the_database(db_session, moderator):
    asset = make_asset(db_session, "Bishop's Castle Library")
    moderation.verify_asset(db_session, asset.id, moderator["id"])
    with pytest.raises(Exception, match="append-only"):
        with db_session.begin_nested():
            db_session.execute(text("UPDATE revision SET reason = 'rewritten' WHERE asset_id = :i"), {"i": asset.id})


def test_archiving_from_the_asset_page_keeps_the_record(client, mod_client, db_session):
    asset = make_asset(db_session, "Temporary Pop-up")
    token = csrf_token(mod_client, f"/moderate/assets/{asset.id}")
    no_reason = mod_client.post(f"/moderate/assets/{asset.id}/archive", data={"csrf_token": token, "version": "1"})
    assert no_reason.status_code == 400
    response = mod_client.post(f"/moderate/assets/{asset.id}/archive",
                               data={"csrf_token": token, "version": "1", "reason": "ended"})
    assert response.status_code == 302
    assert "Temporary Pop-up" not in client.get(f"/areas/{SHROPSHIRE}").get_data(as_text=True)
    assert "archived" in mod_client.get(f"/moderate/assets/{asset.id}").get_data(as_text=True)


def test_stale_list_and_verified_today(app, mod_client, db_session):
    long_ago = datetime.now(UTC) - timedelta(days=400)
    old = make_asset(db_session, "Old Chapel Lunch Club", created_at=long_ago)
    make_asset(db_session, "Fresh Group")
    make_asset(db_session, "Checked Last Month", created_at=long_ago,
                         last_verified_at=datetime.now(UTC) - timedelta(days=45))
    page = mod_client.get("/moderate/stale").get_data(as_text=True)
    assert "Not checked for 12 months or more" in page
    assert "Old Chapel Lunch Club" in page and "Fresh Group" not in page and "Checked Last Month" not in page
    app.config["ASSETMAP_STALE_MONTHS"] = 1
    page = mod_client.get("/moderate/stale").get_data(as_text=True)
    assert "Checked Last Month" in page and "Fresh Group" not in page
    app.config["ASSETMAP_STALE_MONTHS"] = 12

    token = csrf_token(mod_client, "/moderate/stale")
    response = mod_client.post(f"/moderate/assets/{old.id}/verify",
                               data={"csrf_token": token, "version": "1", "next": "/moderate/stale?"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/moderate/stale")
    assert "Old Chapel Lunch Club" not in mod_client.get("/moderate/stale").get_data(as_text=True)
    db_session.refresh(old)
    assert old.last_verified_at is not None
    assert old.version == 1  # nothing a person sees changed: an edit opened meanwhile can still be saved
    assert db_session.query(Revision).filter_by(asset_id=old.id).one().action == "verify"


def test_admins_manage_roles_and_the_last_admin_stays(app, db_session):
    admin = make_user(db_session, "admin@example.org", "admin")
    volunteer = make_user(db_session, "helper@example.org", "volunteer")
    client = app.test_client()
    sign_in(client, admin["email"])
    page = client.get("/moderate/users").get_data(as_text=True)
    assert "helper@example.org" in page
    token = csrf_token(client, "/moderate/users")
    assert client.post(f"/moderate/users/{volunteer['id']}", data={"csrf_token": token, "role": "moderator",
                                                                  "active": "y"}).status_code == 302
    role = db_session.execute(text("SELECT role::text FROM app_user WHERE id = :i"), {"i": volunteer["id"]}).scalar()
    assert role == "moderator"
    response = client.post(f"/moderate/users/{admin['id']}",
                           data={"csrf_token": token, "role": "volunteer", "active": "y"})
    assert response.status_code == 400 and "at least one active administrator" in response.get_data(as_text=True)
    response = client.post("/moderate/users", data={"csrf_token": token, "email": "new@example.org", "role": "planner",
                                                     "password": "long enough password"})
    assert response.status_code == 302
    response = client.post("/moderate/users", data={"csrf_token": token, "email": "new@example.org", "role": "planner",
                                                     "password": "long enough password"})
    assert response.status_code == 409
    # A moderator cannot manage accounts.
    moderator_client = app.test_client()
    sign_in(moderator_client, "helper@example.org")
    assert moderator_client.get("/moderate/users").status_code == 403
    assert moderator_client.post(f"/moderate/users/{admin['id']}", data={
        "csrf_token": csrf_token(moderator_client, "/moderate"), "role": "volunteer"}).status_code == 403


def test_the_queue_lists_imported_pending_assets_too(mod_client, db_session, data_dir):
    from assetmap.importers.assets import import_assets

    import_assets(db_session, data_dir / "assets" / "foodbanks_givefood_shropshire_oldham.csv", "givefood",
                  publish=False)
    pending = db_session.execute(text("SELECT id, name FROM asset WHERE status = 'pending' ORDER BY id")).all()
    assert pending
    page = mod_client.get("/moderate?kind=new").get_data(as_text=True)
    for asset_id, _name in pending:
        assert f"/moderate/new/{asset_id}" in page
    review_page = mod_client.get(f"/moderate/new/{pending[0].id}").get_data(as_text=True)
    assert "by an import (givefood)" in review_page


def test_approving_and_archiving_bring_the_gap_analysis_up_to_date(client, mod_client, db_session, monkeypatch):
    from assetmap.db import gap_refresh

    calls = []
    monkeypatch.setattr(gap_refresh, "recompute_for_asset_change",
                        lambda session, asset_id: calls.append(asset_id) or {"runs": [], "areas": 0, "rows": 0,
                                                                              "superseded": []})
    submit(client, name="Oswestry Community Pantry", asset_types=["food-bank"])
    asset_id = latest_asset_id(db_session, "Oswestry Community Pantry")
    assert calls == []  # a submission changes nothing public
    assert review(mod_client, f"/moderate/new/{asset_id}", "approve").status_code == 302
    assert calls == [asset_id]
    token = csrf_token(mod_client, f"/moderate/assets/{asset_id}")
    mod_client.post(f"/moderate/assets/{asset_id}/verify", data={"csrf_token": token, "version": "2"})
    assert calls == [asset_id]  # checking it changes nothing the analysis uses
    mod_client.post(f"/moderate/assets/{asset_id}/archive",
                    data={"csrf_token": token, "version": "2", "reason": "gone"})
    assert calls == [asset_id, asset_id]


def test_resolving_a_problem_says_what_happened_and_writes_a_revision_only_on_a_change(client, mod_client,
                                                                                         db_session):
    asset = make_asset(db_session, "Old Hall")
    url = f"/contribute/problem/{asset.id}"

    def report():
        client.post(url, data={"problem_type": "wrong_details", "comment": "Phone is wrong",
                               "csrf_token": csrf_token(client, url)})
        return db_session.query(ChangeRequest).filter_by(asset_id=asset.id, status="pending").one().id

    revisions = db_session.query(Revision).filter_by(asset_id=asset.id).count()
    first = report()
    response = review(mod_client, f"/moderate/requests/{first}", "approve", reason="checked: the phone is right")
    assert response.status_code == 302
    page = mod_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "nothing on Old Hall needed changing, so no new version was written" in page
    assert db_session.query(Revision).filter_by(asset_id=asset.id).count() == revisions
    assert db_session.get(ChangeRequest, first).status == "approved"

    second = report()
    response = review(mod_client, f"/moderate/requests/{second}", "approve", apply_edits="y", phone="01691 000000")
    page = mod_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Old Hall was corrected (phone)" in page
    db_session.refresh(asset)
    assert asset.phone == "01691 000000"
    assert db_session.query(Revision).filter_by(asset_id=asset.id).count() == revisions + 1


def test_moderators_find_a_place_by_name_postcode_or_id(client, mod_client, db_session):
    hall = make_asset(db_session, "Whitchurch Civic Centre", postcode="SY13 1AX")
    other = make_asset(db_session, "Whitchurch Bowling Club", postcode="SY13 2BB")
    queue = mod_client.get("/moderate").get_data(as_text=True)
    assert 'role="search"' in queue and 'name="q"' in queue

    by_name = mod_client.get("/moderate/search?q=whitchurch civic").get_data(as_text=True)
    assert "Whitchurch Civic Centre" in by_name and "Whitchurch Bowling Club" not in by_name
    assert f"/moderate/assets/{hall.id}/edit" in by_name and f"/moderate/assets/{hall.id}#history" in by_name
    both = mod_client.get("/moderate/search?q=SY13").get_data(as_text=True)
    assert "Whitchurch Civic Centre" in both and "Whitchurch Bowling Club" in both
    # One exact match (an id, a whole postcode) goes straight to the place.
    by_id = mod_client.get(f"/moderate/search?q=%23{other.id}")
    assert by_id.headers["Location"].endswith(f"/moderate/assets/{other.id}")
    assert mod_client.get("/moderate/search?q=sy13 1ax").headers["Location"].endswith(f"/moderate/assets/{hall.id}")
    assert "Nothing matches" in mod_client.get("/moderate/search?q=zzqx%25").get_data(as_text=True)
    assert client.get("/moderate/search?q=x").status_code == 302  # signed out: to the sign-in page


def test_the_public_page_of_a_place_links_moderators_to_edit_and_history(client, mod_client, db_session):
    hall = make_asset(db_session, "Wem Town Hall", lon=-2.7231, lat=52.8557)
    public = client.get(f"/assets/{hall.id}").get_data(as_text=True)
    assert "Moderator tools" not in public and f"/moderate/assets/{hall.id}/edit" not in public
    page = mod_client.get(f"/assets/{hall.id}").get_data(as_text=True)
    assert 'aria-label="Moderator tools"' in page
    assert f'href="/moderate/assets/{hall.id}/edit">Edit this place' in page
    assert f'href="/moderate/assets/{hall.id}#history">History' in page


def test_a_moderator_sets_who_runs_it_on_the_edit_form(mod_client, db_session):
    hall = make_asset(db_session, "Wem Town Hall", lon=-2.7231, lat=52.8557)
    response = review(mod_client, f"/moderate/assets/{hall.id}/edit", None, organisation_name="Wem Town Council")
    assert response.status_code == 302
    db_session.refresh(hall)
    assert hall.organisation.name == "Wem Town Council"
    page = mod_client.get(f"/moderate/assets/{hall.id}").get_data(as_text=True)
    assert "<dt>Who runs it</dt><dd>Wem Town Council</dd>" in page
    form = mod_client.get(f"/moderate/assets/{hall.id}/edit").get_data(as_text=True)
    assert 'value="Wem Town Council"' in form


def test_the_review_pages_say_who_runs_the_place(client, mod_client, db_session):
    """A moderator sees who runs a place before approving it (new places, suggested changes and
    problem reports), escaped like everything a volunteer types."""
    name = "Oswestry Knit and Natter"
    assert submit(client, name=name, organisation_name="Friends of <Cae Glas> & Co").status_code == 302
    asset_id = latest_asset_id(db_session, name)
    page = mod_client.get(f"/moderate/new/{asset_id}").get_data(as_text=True)
    facts = page.split('class="review-summary"')[1].split("</dl>")[0]
    assert "<dt>Who runs it</dt><dd>Friends of &lt;Cae Glas&gt; &amp; Co</dd>" in facts
    assert "<Cae Glas>" not in page

    hall = make_asset(db_session, "Wem Town Hall", lon=-2.7231, lat=52.8557, phone="01939 000000")
    assert review(mod_client, f"/moderate/assets/{hall.id}/edit", None,
                  organisation_name="Wem Town Council").status_code == 302
    token = csrf_token(client, f"/contribute/change/{hall.id}")
    client.post(f"/contribute/change/{hall.id}", data=asset_form(
        name="Wem Town Hall", lat="52.8557", lon="-2.7231", postcode="", five_ways=None, phone="01939 111111",
        csrf_token=token))
    url = f"/contribute/problem/{hall.id}"
    client.post(url, data={"problem_type": "wrong_details", "comment": "No lift",
                           "csrf_token": csrf_token(client, url)})
    requests = db_session.query(ChangeRequest).filter_by(asset_id=hall.id).all()
    assert sorted(r.kind for r in requests) == ["change", "problem"]
    for request in requests:
        page = mod_client.get(f"/moderate/requests/{request.id}").get_data(as_text=True)
        facts = page.split('class="review-summary"')[1].split("</dl>")[0]
        assert "<dt>Who runs it</dt><dd>Wem Town Council</dd>" in facts, request.kind

    plain = make_asset(db_session, "Wem Library", lon=-2.7240, lat=52.8560)
    url = f"/contribute/problem/{plain.id}"
    client.post(url, data={"problem_type": "closed", "comment": "Shut", "csrf_token": csrf_token(client, url)})
    request_id = db_session.query(ChangeRequest).filter_by(asset_id=plain.id).one().id
    assert "<dt>Who runs it</dt><dd>Not given</dd>" in mod_client.get(f"/moderate/requests/{request_id}").get_data(
        as_text=True)


def test_who_runs_it_as_the_moderator_leaves_it_is_what_approving_saves(client, mod_client, db_session):
    name = "Oswestry Knit and Natter"
    assert submit(client, name=name, organisation_name="Friends of Cae Glas Park").status_code == 302
    asset_id = latest_asset_id(db_session, name)
    field = 'id="organisation_name" name="organisation_name" value="{}"'
    page = mod_client.get(f"/moderate/new/{asset_id}").get_data(as_text=True)
    assert field.format("Friends of Cae Glas Park") in page
    assert review(mod_client, f"/moderate/new/{asset_id}", "approve",
                  organisation_name="Oswestry  Town Council").status_code == 302
    asset = db_session.get(Asset, asset_id)
    db_session.refresh(asset)
    assert asset.status.value == "published" and asset.organisation.name == "Oswestry Town Council"

    # A suggested change approved as it is keeps who runs it.
    token = csrf_token(client, f"/contribute/change/{asset_id}")
    client.post(f"/contribute/change/{asset_id}", data=asset_form(
        name=name, phone="01691 111111", comment="new number", csrf_token=token))
    request_id = db_session.query(ChangeRequest).filter_by(asset_id=asset_id, kind="change").one().id
    page = mod_client.get(f"/moderate/requests/{request_id}").get_data(as_text=True)
    assert field.format("Oswestry Town Council") in page  # as it is: a suggested change does not carry it
    assert review(mod_client, f"/moderate/requests/{request_id}", "approve").status_code == 302
    db_session.refresh(asset)
    assert asset.phone == "01691 111111" and asset.organisation.name == "Oswestry Town Council"

    # A problem report: who runs it changes only with "Save my corrections", and says so.
    url = f"/contribute/problem/{asset_id}"
    for _ in range(2):
        client.post(url, data={"problem_type": "wrong_details", "comment": "The library runs it now",
                               "csrf_token": csrf_token(client, url)})
    first, second = (r.id for r in db_session.query(ChangeRequest).filter_by(asset_id=asset_id, kind="problem")
                     .order_by(ChangeRequest.id))
    assert review(mod_client, f"/moderate/requests/{first}", "approve",
                  organisation_name="Shropshire Libraries").status_code == 302
    db_session.refresh(asset)
    assert asset.organisation.name == "Oswestry Town Council"
    assert review(mod_client, f"/moderate/requests/{second}", "approve", apply_edits="y",
                  organisation_name="Shropshire Libraries").status_code == 302
    db_session.refresh(asset)
    assert asset.organisation.name == "Shropshire Libraries"
    assert "was corrected (who runs it)" in mod_client.get("/moderate").get_data(as_text=True)
