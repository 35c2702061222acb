"""Moderators' pages: the review queue (field-by-field differences on a small map), approving,
editing then approving, rejecting with a reason; an asset's page with its history and restore;
editing, archiving and "verified today"; the stale list; and, for admins, accounts and roles.

Every page here needs a moderator (or admin) signed in. Each change carries the version of the
asset the moderator saw; if someone else changed it since, the save is refused with a 409.
"""
from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from assetmap.db import moderation, users
from assetmap.db.gap_refresh import refresh_after_commit
from assetmap.domain.contribution import (
    PROBLEM_TYPES,
    organisation_key,
    validate_asset,
    validate_organisation_name,
    validate_reason,
)
from assetmap.domain.permissions import ROLE_LABELS, ROLES, can_edit, can_manage_users, can_moderate
from assetmap.domain.revisions import FIELD_LABELS, display_value
from assetmap.errors import BadInputError, ConflictError
from assetmap.maps.pin_map import build_review_map
from assetmap.web.auth import login_manager
from assetmap.web.contribute import checks_for, form_options, pin_map_parts
from assetmap.web.contribute_forms import (
    ActionForm,
    EditForm,
    ReviewForm,
    RoleForm,
    UserForm,
    form_data,
    form_expired,
    raw_from_form,
)
from assetmap.web.db import get_session
from assetmap.web.maps import map_parts
from assetmap.web.params import int_arg

bp = Blueprint("moderate", __name__, url_prefix="/moderate")
bp.register_error_handler(CSRFError, form_expired)
log = logging.getLogger(__name__)

PAGE_SIZE = 50


@bp.before_request
def _moderators_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not can_moderate(current_user):
        abort(403, "This page is for moderators.")
    return None


@bp.app_template_filter("field_label")
def _field_label(field: str) -> str:
    if field == "organisation_name":
        return "Who runs it"
    return FIELD_LABELS.get(field, field.replace("_", " ").capitalize())


def _version() -> int:
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        raise BadInputError("the form is missing the version of the record it was opened on; open it again") from None


def _refresh_gaps(changes) -> None:
    """Bring the stored gap analyses up to date with what was just committed."""
    refresh_after_commit(get_session(), changes, log=log)


def _page() -> int:
    return int_arg("page", 1, 1, 100_000)


def _review_map(item: dict) -> dict:
    """Where the place is now and where it would be, on the map the moderator can drag a pin on."""
    asset, proposed = item["asset"], item["proposed"]
    m = build_review_map(
        None if item["kind"] == "new" else (tuple(asset["location"]) if asset["location"] else None),
        tuple(proposed["location"]) if proposed.get("location") else None,
        proposed.get("name") or asset["name"],
        tile_url=current_app.config["TILE_URL"],
        attribution=current_app.config["TILE_ATTRIBUTION"],
    )
    return {"parts": map_parts(m), "name": m.get_name()}


def _labels(session, *records) -> dict:
    ids = [r.get("service_area_id") for r in records if r and r.get("service_area_id")]
    return moderation.display_labels(session, ids)


def _diff_rows(changes: dict, labels: dict, *, with_status: bool = True) -> list[dict]:
    return [{"field": f, "old": display_value(f, old, labels), "new": display_value(f, new, labels)}
            for f, (old, new) in changes.items() if f != "version" and (with_status or f != "status")]


@bp.route("")
def queue():
    session = get_session()
    kind = request.args.get("kind") or None
    page = _page()
    result = moderation.queue(session, kind, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("moderate/queue.html", items=result["items"], total=result["total"],
                           counts=result["counts"], kind=kind, page=page, page_size=PAGE_SIZE,
                           problem_types=PROBLEM_TYPES)


@bp.route("/search")
def search():
    """Find a place by name, postcode or id, whatever its status."""
    query = (request.args.get("q") or "").strip()
    results = moderation.search_assets(get_session(), query) if query else []
    if query and len(results) == 1 and results[0]["exact"]:
        return redirect(url_for(".asset", asset_id=results[0]["id"]))
    return render_template("moderate/search.html", query=query, results=results)


def _render_review(item: dict, form, errors: dict, status: int = 200):
    session = get_session()
    labels = _labels(session, item["asset"], item["proposed"])
    options = form_options(session, item["asset"])
    return render_template(
        "moderate/review.html", item=item, form=form, errors=errors, options=options,
        diff_rows=_diff_rows(item["changes"], labels, with_status=item["kind"] != "new"),
        review_map=_review_map(item), pin_map=None, problem_types=PROBLEM_TYPES,
    ), status


def _decide(item: dict, form, approve, reject, archive=None):
    """Shared POST handling of the review page; ``approve(values, version, reason, organisation)``
    (``organisation``: who runs it as the moderator left the field, None when not asked) etc."""
    session = get_session()
    decision = request.form.get("decision")
    version = _version()
    reason, reason_error = validate_reason(form.reason.data, required=decision in ("reject", "archive"))
    errors: dict[str, str] = {}
    if reason_error:
        errors["reason"] = reason_error + (" for rejecting it" if decision == "reject" else "")
    if decision == "approve":
        values, organisation = None, None
        if item["kind"] != "problem" or request.form.get("apply_edits"):
            checks = checks_for(session, form_options(session, item["asset"]))
            values, field_errors = validate_asset(raw_from_form(form), checks)
            errors.update(field_errors)
            if "organisation_name" in request.form:  # who runs it, as the moderator left it
                organisation, organisation_error = validate_organisation_name(form.organisation_name.data)
                organisation = organisation or ""
                if organisation_error:
                    errors["organisation_name"] = organisation_error
        if errors:
            return _render_review(item, form, errors, 400)
        changed = moderation.request_changes(session, item["asset"]["id"], values) if item["kind"] == "problem" else {}
        if organisation is not None and organisation_key(organisation) != organisation_key(
                item["asset"]["organisation_name"]):
            changed = {**changed, "organisation_name": [item["asset"]["organisation_name"], organisation]}
        changes = approve(values, version, reason, organisation)
        message = _approved_message(item, changed)
    elif decision == "reject":
        if errors:
            return _render_review(item, form, errors, 400)
        changes = reject(version, reason)
        message = "Rejected, with your reason kept."
    elif decision == "archive" and archive is not None:
        if errors:
            return _render_review(item, form, errors, 400)
        changes = archive(version, reason)
        message = f"Archived: {item['asset']['name']} is off the map (its history is kept)."
    else:
        raise BadInputError("choose approve or reject")
    session.commit()
    _refresh_gaps(changes)
    flash(message, "success")
    return redirect(url_for(".queue"))


def _approved_message(item: dict, changed: dict) -> str:
    """What approving did, in words: a problem report says whether the record changed."""
    name = item["proposed"].get("name") or item["asset"]["name"]
    if item["kind"] == "problem":
        if not changed:
            return f"Problem report resolved: nothing on {name} needed changing, so no new version was written."
        fields = ", ".join(_field_label(field).lower() for field in changed)
        return f"Problem report resolved: {name} was corrected ({fields})."
    if item["kind"] == "change":
        return f"Change approved: {name} is updated on the map."
    return f"Approved: {name} is on the map now."


@bp.route("/new/<int:asset_id>", methods=["GET", "POST"])
def review_new(asset_id: int):
    session = get_session()
    item = moderation.review_new(session, asset_id)
    if request.method == "GET":
        form = ReviewForm(data={**form_data(item["asset"]), "version": item["asset"]["version"]})
        return _render_review(item, form, {})
    user_id = current_user.id
    return _decide(
        item, ReviewForm(),
        approve=lambda values, version, reason, organisation: moderation.approve_new(
            session, asset_id, values, version, user_id, reason, organisation_name=organisation),
        reject=lambda version, reason: moderation.reject_new(session, asset_id, version, user_id, reason),
    )


@bp.route("/requests/<int:request_id>", methods=["GET", "POST"])
def review_request(request_id: int):
    session = get_session()
    item = moderation.review_request(session, request_id)
    if item["request"]["status"] != "pending":
        flash(f"This was already {item['request']['status']}.", "info")
        return redirect(url_for(".asset", asset_id=item["asset"]["id"]))
    if request.method == "GET":
        # (what a change proposes is fields of the place; who runs it is as it is now)
        form = ReviewForm(data={**form_data(item["proposed"]), "organisation_name": item["asset"]["organisation_name"]
                                or "", "version": item["asset"]["version"]})
        return _render_review(item, form, {})
    user_id, asset_id = current_user.id, item["asset"]["id"]
    return _decide(
        item, ReviewForm(),
        approve=lambda values, version, reason, organisation: moderation.approve_request(
            session, request_id, values, version, user_id, reason, organisation_name=organisation),
        reject=lambda version, reason: moderation.reject_request(session, request_id, user_id, reason),
        archive=lambda version, reason: moderation.archive_asset(session, asset_id, version, user_id, reason,
                                                                 request_id=request_id),
    )


@bp.route("/assets/<int:asset_id>")
def asset(asset_id: int):
    """An asset as moderators see it: its details, what waits about it, and its whole history."""
    session = get_session()
    record = moderation.get_asset(session, asset_id)
    revisions = moderation.history(session, asset_id)
    area_ids = {record.get("service_area_id")}
    for r in revisions:
        area_ids.update((r["changes"] or {}).get("service_area_id") or [])
    labels = moderation.display_labels(session, sorted(i for i in area_ids if i))
    for r in revisions:
        r["rows"] = _diff_rows(r["changes"] or {}, labels)
    return render_template(
        "moderate/asset.html", asset=record, revisions=revisions, requests=moderation.open_requests(session, asset_id),
        action_form=ActionForm(data={"version": record["version"]}), can_edit=can_edit(current_user, record),
        details=[(f, display_value(f, record.get(f), labels)) for f in FIELD_LABELS if f in record],
        problem_types=PROBLEM_TYPES,
    )


@bp.route("/assets/<int:asset_id>/edit", methods=["GET", "POST"])
def edit(asset_id: int):
    session = get_session()
    record = moderation.get_asset(session, asset_id)
    if not can_edit(current_user, record):
        abort(403, "A rejected submission is kept as it was sent and cannot be edited.")
    if request.method == "GET":
        form = EditForm(data={**form_data(record), "version": record["version"]})
        errors: dict[str, str] = {}
    else:
        form = EditForm()
        version = _version()
        options = form_options(session, record)
        values, errors = validate_asset(raw_from_form(form), checks_for(session, options))
        organisation, organisation_error = validate_organisation_name(form.organisation_name.data)
        if organisation_error:
            errors["organisation_name"] = organisation_error
        reason, reason_error = validate_reason(form.reason.data, required=False)
        if reason_error:
            errors["reason"] = reason_error
        if not errors:
            changes = moderation.update_asset(session, asset_id, values, version, current_user.id, reason,
                                              organisation_name=organisation or "")
            session.commit()
            _refresh_gaps(changes)
            flash("Saved.", "success")
            return redirect(url_for(".asset", asset_id=asset_id))
    options = form_options(session, record)
    return render_template("moderate/edit.html", asset=record, form=form, errors=errors, options=options,
                           pin_map=pin_map_parts(session, record["location"])), (400 if errors else 200)


def _action(asset_id: int, do, message: str, reason_required: bool = False, changes_gaps: bool = True):
    form = ActionForm()
    reason, error = validate_reason(form.reason.data, required=reason_required)
    if error:
        raise BadInputError(error + " (go back and fill it in)")
    changes = do(_version(), reason)
    get_session().commit()
    if changes_gaps:
        _refresh_gaps(changes)
    flash(message, "success")
    back = request.form.get("next") or ""
    return redirect(back if back.startswith(url_for(".stale")) and "//" not in back else
                    url_for(".asset", asset_id=asset_id))


@bp.route("/assets/<int:asset_id>/archive", methods=["POST"])
def archive(asset_id: int):
    session = get_session()
    return _action(asset_id, lambda version, reason: moderation.archive_asset(session, asset_id, version,
                                                                              current_user.id, reason),
                   "Archived: it is off the map, and its history is kept.", reason_required=True)


@bp.route("/assets/<int:asset_id>/restore/<int:revision_id>", methods=["POST"])
def restore(asset_id: int, revision_id: int):
    session = get_session()
    old = moderation.revision_version(session, asset_id, revision_id)
    said = f"version {old['version']} of {old['created_at'].strftime('%-d %B %Y')}"
    return _action(asset_id, lambda version, reason: moderation.restore_revision(
        session, asset_id, revision_id, version, current_user.id, reason),
        f"Restored {said}: it is written back as a new version, and the history keeps every one.")


@bp.route("/assets/<int:asset_id>/verify", methods=["POST"])
def verify(asset_id: int):
    session = get_session()
    return _action(asset_id, lambda version, reason: moderation.verify_asset(session, asset_id, current_user.id),
                   "Marked as checked today.", changes_gaps=False)


@bp.route("/stale")
def stale():
    session = get_session()
    months = current_app.config["ASSETMAP_STALE_MONTHS"]
    area = request.args.get("area") or None
    source = request.args.get("source") or None
    page = _page()
    result = moderation.stale_assets(session, months, lad_code=area, source=source, limit=PAGE_SIZE,
                                     offset=(page - 1) * PAGE_SIZE)
    from assetmap.db.areas import list_local_authorities

    return render_template("moderate/stale.html", items=result["items"], total=result["total"], months=months,
                           area=area, source=source, page=page, page_size=PAGE_SIZE,
                           authorities=list_local_authorities(session), action_form=ActionForm())


@bp.route("/users", methods=["GET", "POST"])
def users_page():
    if not can_manage_users(current_user):
        abort(403, "Only administrators manage accounts.")
    session = get_session()
    form = UserForm()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        role = form.role.data or "volunteer"
        try:
            created = users.create_user(session, form.email.data or "", form.password.data or "", role, form.name.data)
        except (BadInputError, ConflictError) as exc:
            errors["form"], status = exc.message, exc.http_status
        else:
            session.commit()
            flash(f"Account created for {created['email']} ({ROLE_LABELS[created['role']]}).", "success")
            return redirect(url_for(".users_page"))
    return render_template("moderate/users.html", users=users.list_users(session), form=form, errors=errors,
                           role_form=RoleForm(), roles=[(r, ROLE_LABELS[r]) for r in ROLES]), status


@bp.route("/users/<int:user_id>", methods=["POST"])
def set_role(user_id: int):
    if not can_manage_users(current_user):
        abort(403, "Only administrators manage accounts.")
    session = get_session()
    form = RoleForm()
    changed = users.set_role(session, current_user, user_id, form.role.data or "", bool(form.active.data))
    session.commit()
    access = "" if changed["active"] else " (cannot sign in)"
    flash(f"{changed['email']} is now {ROLE_LABELS[changed['role']]}{access}.", "success")
    return redirect(url_for(".users_page"))
