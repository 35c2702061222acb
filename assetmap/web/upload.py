"""Bulk upload of a spreadsheet or GeoJSON, for planners and administrators.

Upload a file → see its first rows and choose which column is which field → see every row's
errors and warnings → commit the valid rows (to moderation, or published at once by an
administrator) → the import report, kept. Large commits run in the background while the page
shows their progress; without JavaScript the commit runs in the request.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from assetmap.db import uploads
from assetmap.db.gap_refresh import refresh_after_commit
from assetmap.db.models import BulkUpload, ImportRun
from assetmap.domain import tabular
from assetmap.domain.permissions import can_publish_upload, can_see_every_upload, can_upload
from assetmap.errors import AssetmapError, BadInputError, ConflictError, ImportFileError
from assetmap.importers import tabular as importer
from assetmap.importers import upload_files
from assetmap.web.auth import login_manager
from assetmap.web.db import get_session

bp = Blueprint("upload", __name__, url_prefix="/upload")

@bp.before_request
def _planners_and_admins_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not can_upload(current_user):
        abort(403, "Uploading lists is for planners and administrators.")
    return None


def _max_bytes() -> int:
    return int(current_app.config.get("MAX_CONTENT_LENGTH") or 20 * 1024 * 1024)


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f}".removesuffix(".0") + " MB"


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _recent(session) -> list[dict]:
    return uploads.recent_uploads(session, None if can_see_every_upload(current_user) else current_user.id)


def _form(error: str | None = None, status: int = 200):
    return render_template("upload/index.html", error=error, uploads=_recent(get_session()),
                           max_bytes=_max_bytes(), max_size=_megabytes(_max_bytes())), status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    size = request.content_length or 0
    message = (f"The file is too large ({_megabytes(size)}). The largest file you can upload is "
               f"{_megabytes(_max_bytes())}: split it into smaller files, or remove columns you do not need, "
               "and upload each part.")
    if _wants_json():
        return jsonify({"error": {"status": 413, "title": "Too large", "message": message}}), 413
    return _form(message, 413)


def _source_key(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return (slug or "upload")[:60].strip("-")


@bp.route("/", methods=["GET", "POST"])
def index():
    """The upload form, and the uploads made lately."""
    if request.method == "GET":
        return _form()
    file = request.files.get("file")
    if file is None or not file.filename:
        return _fail("Choose a file to upload.")
    data = file.read(_max_bytes() + 1)
    if len(data) > _max_bytes():
        raise RequestEntityTooLarge()
    name = Path(file.filename).name[:300]
    try:
        parsed = upload_files.read_upload(name, data)
    except ImportFileError as error:
        return _fail(f"{name}: {error.message}")
    session = get_session()
    upload = BulkUpload(
        user_id=current_user.id, file_name=name, file_format=parsed.file_format, file_size=len(data),
        encoding=parsed.encoding, source_key=_source_key(request.form.get("source_name") or Path(name).stem),
        header=parsed.header, rows=parsed.rows, file_notes=parsed.notes,
        mapping=tabular.suggest_mapping(parsed.header), options={}, state="uploaded",
    )
    session.add(upload)
    session.commit()
    target = url_for("upload.mapping", upload_id=upload.id)
    if _wants_json():
        return jsonify({"next": target}), 201
    return redirect(target)


def _fail(message: str):
    if _wants_json():
        return jsonify({"error": {"status": 400, "title": "bad input", "message": message}}), 400
    return _form(message, 400)


def _get(upload_id: int) -> BulkUpload:
    upload = get_session().get(BulkUpload, upload_id)
    if upload is None or (upload.user_id != current_user.id and not can_see_every_upload(current_user)):
        abort(404)
    return upload


@bp.route("/<int:upload_id>/map", methods=["GET", "POST"])
def mapping(upload_id: int):
    """The first rows of the file, and which column holds which field."""
    upload = _get(upload_id)
    session = get_session()
    if upload.state in ("committing", "committed"):
        return redirect(url_for("upload.report", upload_id=upload.id))
    _, types = uploads.asset_types(session)
    error = None
    if request.method == "POST":
        chosen = {f.key: request.form.get(f"field-{f.key}", "") for f in tabular.FIELDS}
        upload.mapping = {k: v for k, v in chosen.items() if v}
        upload.options = {
            "category": request.form.get("category") or None,
            "publish": bool(request.form.get("publish") == "yes" and can_publish_upload(current_user)),
        }
        try:
            result = importer.check_upload(session, upload)
        except BadInputError as exc:
            error = exc.message
        else:
            upload.check_report = result.report
            upload.state = "checked"
            session.commit()
            return redirect(url_for("upload.check", upload_id=upload.id))
    n_rows, preview = uploads.first_rows(session, upload.id)
    return render_template("upload/map.html", upload=upload, fields=tabular.FIELDS, types=types, error=error,
                           n_rows=n_rows, preview=preview,
                           is_admin=can_publish_upload(current_user)), (400 if error else 200)


@bp.get("/<int:upload_id>/check")
def check(upload_id: int):
    """Every row's errors and warnings, before anything is written."""
    upload = _get(upload_id)
    if upload.check_report is None:
        return redirect(url_for("upload.mapping", upload_id=upload.id))
    if upload.state in ("committing", "committed"):
        return redirect(url_for("upload.report", upload_id=upload.id))
    labels = {f.key: f.label for f in tabular.FIELDS}
    _, types = uploads.asset_types(get_session())
    return render_template("upload/check.html", upload=upload, report=upload.check_report, labels=labels,
                           types={t["slug"]: t["label"] for t in types}, is_admin=can_publish_upload(current_user))


def _claim(upload: BulkUpload) -> None:
    """Mark the upload as being committed, once (a second click gets a conflict)."""
    if not uploads.claim_for_commit(get_session(), upload.id):
        raise ConflictError("this upload is already being committed, or has been")


def _run_commit(session, upload_id: int, user_id: int | None, publish: bool, progress) -> None:
    upload = session.get(BulkUpload, upload_id)
    report, run = importer.commit_upload(session, upload, user_id, publish, progress=progress)
    upload.import_run_id = run.id
    upload.state = "committed"
    upload.progress_done = upload.progress_total = len(upload.rows)
    upload.error = None
    upload.check_report = {**(upload.check_report or {}), "committed": report.to_dict()}
    session.commit()
    refresh_after_commit(session, report.changes, log=current_app.logger)


def _in_background(app, upload_id: int, user_id: int | None, publish: bool) -> None:
    """Commit in a thread with its own session; progress goes through a second, autocommitting
    connection so the page can read it while the import's transaction is still open."""
    from assetmap.db.engine import get_engine

    with app.app_context():
        engine = get_engine(app.config["SQLALCHEMY_DATABASE_URI"])

        def progress(done: int, total: int) -> None:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                uploads.record_progress(conn, upload_id, done, total)

        session = app.extensions["assetmap.session_factory"]()
        try:
            _run_commit(session, upload_id, user_id, publish, progress)
        except Exception as exc:
            session.rollback()
            app.logger.exception("upload %s failed", upload_id)
            message = exc.message if isinstance(exc, AssetmapError) else "the import failed; nothing was imported"
            uploads.mark_failed(session, upload_id, message)
            session.commit()
        finally:
            session.close()


@bp.post("/<int:upload_id>/commit")
def commit(upload_id: int):
    """Write the valid rows: in the background for the page's script, else here and now."""
    upload = _get(upload_id)
    if upload.state not in ("checked", "failed", "committing") or not (upload.check_report or {}).get("ok"):
        raise ConflictError("there is nothing to commit: check the file first")
    publish = bool((upload.options or {}).get("publish")) and can_publish_upload(current_user)
    _claim(upload)
    report_url = url_for("upload.report", upload_id=upload.id)
    if _wants_json() and current_app.config.get("ASSETMAP_UPLOAD_IN_BACKGROUND", not current_app.testing):
        app = current_app._get_current_object()
        threading.Thread(target=_in_background, args=(app, upload.id, current_user.id, publish),
                         name=f"upload-{upload.id}", daemon=True).start()
        return jsonify({"progress": url_for("upload.progress", upload_id=upload.id), "report": report_url}), 202
    session = get_session()
    try:
        _run_commit(session, upload.id, current_user.id, publish, progress=None)
    except AssetmapError as exc:
        session.rollback()
        uploads.mark_failed(session, upload.id, exc.message)
        session.commit()
    if _wants_json():
        return jsonify({"progress": url_for("upload.progress", upload_id=upload.id), "report": report_url}), 200
    return redirect(report_url)


@bp.get("/<int:upload_id>/progress.json")
def progress(upload_id: int):
    upload = _get(upload_id)
    get_session().refresh(upload)
    return jsonify({"state": upload.state, "done": upload.progress_done, "total": upload.progress_total,
                    "error": upload.error, "report": url_for("upload.report", upload_id=upload.id)})


@bp.get("/<int:upload_id>")
def report(upload_id: int):
    """The outcome: what was added, updated, left as it was, and the rows not imported."""
    upload = _get(upload_id)
    run = get_session().get(ImportRun, upload.import_run_id) if upload.import_run_id else None
    return render_template("upload/report.html", upload=upload, run=run,
                           committed=(upload.check_report or {}).get("committed"))
