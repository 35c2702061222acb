"""One write path for assets (:mod:`assetmap.db.assets`): whoever adds a library in Oswestry (the
command-line importer, a published upload, an Open Referral UK import, a moderator approving a
volunteer's submission, a moderator restoring an archived one), the next gap answer for libraries
in Shropshire counts it, with no recompute asked for. Also: imported assets keep their ids when
the database is rebuilt from the same files, and every writer's revisions have the same keys.

These tests commit, as the real callers do, into a database of their own (a clone of the
reference data with Shropshire's libraries), dropped at the end of the module.
"""
from __future__ import annotations

import io
import json
import uuid

import pytest
from sqlalchemy import select, text

from assetmap.db import gap_refresh, gap_runs, moderation
from assetmap.db.engine import session_scope
from assetmap.db.models import Asset, AssetStatus, BulkUpload
from assetmap.domain.gap_analysis import GapParams
from assetmap.domain.identities import imported_asset_uuid
from assetmap.domain.revisions import SNAPSHOT_KEYS
from assetmap.importers import tabular
from assetmap.importers.assets import import_assets
from tests.conftest import rolled_back, savepoint_session
from tests.contribute_fixtures import OSWESTRY, PASSWORD, asset_form, form_of, make_user
from tests.gaps_fixtures import AROUND_SHROPSHIRE, LIBRARIES, SHROPSHIRE
from tests.live import committed_clone

LIBRARY_GAPS = GapParams(SHROPSHIRE, "library", "imd_rank", "all", 3000.0, "gaussian")


@pytest.fixture(scope="module")
def wp_url(db_url, data_dir):
    """The reference data plus the real libraries in and around Shropshire, committed."""
    with committed_clone(db_url, "write_path") as url:
        with session_scope(url) as session:
            import_assets(session, data_dir / "assets" / LIBRARIES, "libraries", only_postcode_areas=AROUND_SHROPSHIRE)
        yield url


@pytest.fixture
def wp_app(wp_url):
    from assetmap.web import create_app

    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": wp_url, "SECRET_KEY": "test",
                       "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})


def gap_answer(url: str) -> tuple[dict, set[int]]:
    """The gap answer for libraries in Shropshire as a visitor gets it (the current run, computed
    if there is none), and the assets it counts."""
    with session_scope(url) as session:
        run = gap_runs.ensure_run(session, LIBRARY_GAPS)
        counted = set(session.execute(text("SELECT asset_id FROM gap_supply WHERE run_id = :r"),
                                      {"r": run["id"]}).scalars())
    assert run["summary"]["supply"] == len(counted)
    return run, counted


def asset_named(url: str, name: str) -> tuple[int, uuid.UUID, str]:
    with session_scope(url) as session:
        asset = session.scalars(select(Asset).where(Asset.name == name)).one()
        return asset.id, asset.uuid, asset.status.value


def signed_in(app, email: str):
    """A test client signed in as ``email`` (the forms' CSRF check is off in this module's app)."""
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def user_client(app, url: str, email: str, role: str):
    with session_scope(url) as session:
        make_user(session, email, role)
    return signed_in(app, email)


def library_geojson(name: str, feature_id: str, lon: float, lat: float) -> str:
    return json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "id": feature_id, "properties": {"name": name},
        "geometry": {"type": "Point", "coordinates": [lon, lat]}}]})


# --- a test per caller ---------------------------------------------------------------------------
def test_command_line_import(wp_url, runner, tmp_path, monkeypatch):
    from assetmap.cli import main

    before_run, before = gap_answer(wp_url)
    path = tmp_path / "new_libraries.geojson"
    path.write_text(library_geojson("Oswestry Community Library", "osw-cl-1", -3.0540, 52.8600))
    monkeypatch.setenv("DATABASE_URL", wp_url)

    result = runner.invoke(main, ["import", "assets", str(path), "--format", "geojson", "--category", "library"])

    assert result.exit_code == 0, result.output
    asset_id, asset_uuid, status = asset_named(wp_url, "Oswestry Community Library")
    assert status == "published" and asset_uuid == imported_asset_uuid("geojson", "library/osw-cl-1")
    run, after = gap_answer(wp_url)
    assert after == before | {asset_id}
    assert run["id"] == before_run["id"]  # one asset: the run was brought up to date in place


def test_a_large_import_supersedes_the_runs_and_the_next_answer_recomputes(wp_url, runner, tmp_path, monkeypatch):
    from assetmap.cli import main

    before_run, before = gap_answer(wp_url)
    monkeypatch.setattr(gap_refresh, "INCREMENTAL_LIMIT", 0)  # any import counts as a large one
    path = tmp_path / "more_libraries.geojson"
    path.write_text(library_geojson("Oswestry Branch Library", "osw-bl-1", -3.0500, 52.8580))
    monkeypatch.setenv("DATABASE_URL", wp_url)

    assert runner.invoke(main, ["import", "assets", str(path), "--format", "geojson", "--category", "library"]
                         ).exit_code == 0

    with session_scope(wp_url) as session:
        assert gap_runs.find_run(session, LIBRARY_GAPS) is None  # set aside, not served stale
    asset_id = asset_named(wp_url, "Oswestry Branch Library")[0]
    run, after = gap_answer(wp_url)
    assert run["id"] != before_run["id"] and after == before | {asset_id}


def test_published_upload(wp_url, wp_app):
    before_run, before = gap_answer(wp_url)
    admin = user_client(wp_app, wp_url, "admin.writepath@example.org", "admin")
    data = b"Name,Type,Latitude,Longitude\nOswestry Upload Library,library,52.8610,-3.0520\n"
    assert admin.post("/upload/", data={"file": (io.BytesIO(data), "libraries.csv"), "source_name": "wp"},
                      content_type="multipart/form-data").status_code == 302
    with session_scope(wp_url) as session:
        upload_id = session.scalars(select(BulkUpload.id).order_by(BulkUpload.id.desc())).first()
    assert admin.post(f"/upload/{upload_id}/map", data={
        "field-name": "Name", "field-category": "Type", "field-latitude": "Latitude",
        "field-longitude": "Longitude", "publish": "yes"}).status_code == 302

    assert admin.post(f"/upload/{upload_id}/commit").status_code == 302

    asset_id, asset_uuid, status = asset_named(wp_url, "Oswestry Upload Library")
    with session_scope(wp_url) as session:
        source_id = session.get(Asset, asset_id).source_id
    assert status == "published" and asset_uuid == imported_asset_uuid("upload", source_id)
    _, after = gap_answer(wp_url)
    assert after == before | {asset_id}


def test_open_referral_uk_import(wp_url, runner, tmp_path, monkeypatch):
    from assetmap.cli import main

    _, before = gap_answer(wp_url)
    service_id, sal_id = uuid.uuid4(), uuid.uuid4()
    path = tmp_path / "services.json"
    path.write_text(json.dumps([{
        "id": str(service_id), "name": "Oswestry Open Referral Library", "status": "active",
        "service_at_locations": [{"id": str(sal_id), "location": {
            "id": str(uuid.uuid4()), "name": "Oswestry", "latitude": 52.8595, "longitude": -3.0560}}],
    }]))
    monkeypatch.setenv("DATABASE_URL", wp_url)

    result = runner.invoke(main, ["import", "assets", str(path), "--format", "oruk", "--category", "library"])

    assert result.exit_code == 0, result.output
    asset_id, asset_uuid, status = asset_named(wp_url, "Oswestry Open Referral Library")
    assert status == "published" and asset_uuid == service_id  # the feed's own id is kept
    _, after = gap_answer(wp_url)
    assert after == before | {asset_id}


def test_moderator_approves_a_volunteer_submission(wp_url, wp_app):
    _, before = gap_answer(wp_url)
    volunteer = wp_app.test_client()
    response = volunteer.post("/contribute", data=asset_form(
        name="Oswestry Volunteer Library", asset_types=["library"], five_ways=None, not_duplicate="y"))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    asset_id, asset_uuid, status = asset_named(wp_url, "Oswestry Volunteer Library")
    assert status == "pending" and asset_uuid.version == 4  # added by a person: a random id
    assert gap_answer(wp_url)[1] == before  # waiting for review: not counted

    moderator = user_client(wp_app, wp_url, "mod.writepath@example.org", "moderator")
    fields = form_of(moderator.get(f"/moderate/new/{asset_id}").get_data(as_text=True))
    assert moderator.post(f"/moderate/new/{asset_id}", data={**fields, "decision": "approve"}).status_code == 302

    assert asset_named(wp_url, "Oswestry Volunteer Library")[2] == "published"
    _, after = gap_answer(wp_url)
    assert after == before | {asset_id}


def test_moderator_restores_an_archived_library(wp_url, wp_app):
    with session_scope(wp_url) as session:
        asset_id = moderation.submit_new(session, {"name": "Oswestry Restored Library", "asset_types": ["library"],
                                                   "location": [OSWESTRY["lon"] + 0.004, OSWESTRY["lat"]]},
                                         "someone@example.org")
        moderator_id = make_user(session, "restorer.writepath@example.org", "moderator")["id"]
        moderation.approve_new(session, asset_id, None, None, moderator_id)
        published_revision = session.execute(text(
            "SELECT max(id) FROM revision WHERE asset_id = :a AND action = 'approve'"), {"a": asset_id}).scalar_one()
        moderation.archive_asset(session, asset_id, None, moderator_id, "closed for good, we thought")
    _, before = gap_answer(wp_url)
    assert asset_id not in before
    moderator = signed_in(wp_app, "restorer.writepath@example.org")
    version = _version(wp_url, asset_id)

    response = moderator.post(f"/moderate/assets/{asset_id}/restore/{published_revision}",
                              data={"version": str(version), "reason": "it reopened"})

    assert response.status_code == 302
    assert asset_named(wp_url, "Oswestry Restored Library")[2] == "published"
    _, after = gap_answer(wp_url)
    assert after == before | {asset_id}


def _version(url: str, asset_id: int) -> int:
    with session_scope(url) as session:
        return session.get(Asset, asset_id).version


# --- stable identities ---------------------------------------------------------------------------
def test_the_same_file_into_a_fresh_database_gives_the_same_ids(db_url, data_dir):
    """Two rebuilds from the same file (each on the reference data alone, then thrown away)."""
    ids = []
    for _ in range(2):
        with rolled_back(db_url) as conn:
            session = savepoint_session(conn)
            import_assets(session, data_dir / "assets" / LIBRARIES, "libraries", only_postcode_areas=["SY"])
            ids.append(dict(session.execute(text(
                "SELECT source_id, uuid FROM asset WHERE source = 'libraries'")).all()))
            session.close()
    assert len(ids[0]) > 10 and ids[0] == ids[1]
    assert all(value == imported_asset_uuid("libraries", key) for key, value in ids[0].items())


# --- one snapshot shape ------------------------------------------------------------------------------
def test_every_writer_keeps_revisions_of_the_same_shape(db_session, data_dir):
    import_assets(db_session, data_dir / "assets" / LIBRARIES, "libraries", only_postcode_areas=["SY"])
    upload = BulkUpload(user_id=None, file_name="halls.csv", file_format="csv", file_size=1, encoding="utf-8",
                        source_key="halls", header=["name", "postcode"], rows=[[2, ["Morda Village Hall", "SY10 9NR"]]],
                        file_notes=[], mapping={"name": "name", "postcode": "postcode"},
                        options={"category": "community-venue"}, state="checked")
    db_session.add(upload)
    db_session.flush()
    report, _ = tabular.commit_upload(db_session, upload, None, publish=True)
    assert report.inserted == 1, report.summary()
    moderation.submit_new(db_session, {"name": "Oswestry Knit and Natter", "asset_types": ["community-group"],
                                       "location": [OSWESTRY["lon"], OSWESTRY["lat"]]}, None)

    shapes = db_session.execute(text(
        """
        SELECT a.source, array_agg(DISTINCT k ORDER BY k)
        FROM revision r JOIN asset a ON a.id = r.asset_id, jsonb_object_keys(r.snapshot) k
        GROUP BY a.source ORDER BY a.source
        """
    )).all()
    assert [source for source, _ in shapes] == ["libraries", "upload", "web"]
    assert all(keys == sorted(SNAPSHOT_KEYS) for _, keys in shapes)
    assert db_session.scalars(select(Asset.status).where(Asset.source == "upload")).one() == AssetStatus.published
