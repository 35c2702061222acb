"""Volunteers' pages: add a place or group, suggest a change, report a problem; and the small JSON
helpers the form's script uses (postcode position, likely duplicates, who runs it, the hours as
read while they are typed). No account needed.

Submissions are rate-limited per address (``ASSETMAP_SUBMIT_RATE_LIMIT``, 10 a minute) and carry
a honeypot field; a filled honeypot gets the thank-you page and nothing is stored. Reading hours as
they are typed is limited per address too (``ASSETMAP_HOURS_READ_RATE_LIMIT``, 60 a minute).
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from assetmap.db import areas, catalogue, moderation
from assetmap.domain.attribution import source_meta
from assetmap.domain.contribution import (
    ACCESS_MODES,
    ACCESSIBILITY,
    AGE_GROUPS,
    HOURS_STATES,
    PROBLEM_TYPES,
    Checks,
    validate_asset,
    validate_organisation_name,
    validate_problem,
    validate_reason,
)
from assetmap.domain.opening_hours import DAY_LABELS, DAYS
from assetmap.domain.opening_hours_text import read_free_text
from assetmap.domain.postcodes import normalise_postcode
from assetmap.domain.revisions import diff
from assetmap.domain.validation import validate_email
from assetmap.errors import BadInputError, NotFoundError
from assetmap.maps.pin_map import build_pin_map
from assetmap.web.auth import current_user_id
from assetmap.web.contribute_forms import (
    HOURS_TEXT_MAX,
    ChangeForm,
    ProblemForm,
    SubmissionForm,
    form_data,
    form_expired,
    raw_from_form,
    read_hours_into_form,
    reading_shown,
)
from assetmap.web.db import get_session
from assetmap.web.extensions import limiter
from assetmap.web.maps import map_parts
from assetmap.web.params import int_arg

bp = Blueprint("contribute", __name__)

POSTCODE_DATASET = "codepoint-open"


@bp.record_once
def _defaults(state) -> None:
    state.app.config.setdefault("ASSETMAP_SUBMIT_RATE_LIMIT", "10 per minute")
    # The form's script asks once a pause in typing; a person never needs more.
    state.app.config.setdefault("ASSETMAP_HOURS_READ_RATE_LIMIT", "60 per minute")
    # "west,south,east,north": accept points in this box instead of in the loaded areas.
    state.app.config.setdefault("ASSETMAP_CONTRIBUTE_BBOX", None)


def _submit_limit() -> str:
    return current_app.config["ASSETMAP_SUBMIT_RATE_LIMIT"]


# One allowance per address shared by the three kinds of submission.
submission_limit = limiter.shared_limit(_submit_limit, scope="contribute-submit", methods=["POST"])



def _bbox_check():
    box = current_app.config.get("ASSETMAP_CONTRIBUTE_BBOX")
    if not box:
        return None
    west, south, east, north = (float(v) for v in (box.split(",") if isinstance(box, str) else box))
    return lambda lon, lat: west <= lon <= east and south <= lat <= north


def form_options(session, asset: dict | None = None) -> dict:
    """Choices the asset form offers: vocabularies, service areas, fixed lists, days."""
    terms = moderation.term_choices(session)
    extra = [asset["service_area_id"]] if asset and asset.get("service_area_id") else []
    return {
        "asset_types": terms["asset_types"],
        "five_ways": terms["five_ways"],
        "service_areas": moderation.service_area_choices(session, current_app.config["DEFAULT_AREAS"], extra),
        "access_modes": list(ACCESS_MODES.items()),
        "age_groups": list(AGE_GROUPS.items()),
        "accessibility": list(ACCESSIBILITY.items()),
        "hours_states": list(HOURS_STATES.items()),
        "days": [(day, DAY_LABELS[day]) for day in DAYS],
        "problem_types": list(PROBLEM_TYPES.items()),
    }


def checks_for(session, options: dict) -> Checks:
    """What :func:`validate_asset` needs from the database and the configuration."""
    inside = _bbox_check() or (lambda lon, lat: moderation.is_inside_loaded_area(session, lon, lat))
    return Checks(
        asset_types=frozenset(slug for slug, _ in options["asset_types"]),
        five_ways=frozenset(slug for slug, _ in options["five_ways"]),
        service_areas=frozenset(i for group in options["service_areas"] for i, _ in group["options"]),
        locate_postcode=lambda postcode: moderation.postcode_point(session, postcode),
        is_inside=inside,
    )


def pin_map_parts(session, location, area_code: str | None = None) -> dict:
    """The pin-drop map, framed on ``location`` or the area (default: the configured areas)."""
    codes = [area_code] if area_code else current_app.config["DEFAULT_AREAS"]
    loaded = {a["code"] for a in areas.list_local_authorities(session)}
    codes = [c for c in codes if c in loaded]
    m = build_pin_map(
        moderation.loaded_bounds(session, codes),
        [areas.area_outline_geojson(session, c, 0.002) for c in codes],
        tuple(location) if location else None,
        tile_url=current_app.config["TILE_URL"],
        attribution=current_app.config["TILE_ATTRIBUTION"],
    )
    return {"parts": map_parts(m), "name": m.get_name()}


def _render_form(template: str, form, errors: dict, status: int = 200, **context):
    session = get_session()
    options = context.pop("options", None) or form_options(session, context.get("asset"))
    location = None
    try:
        if form.lat.data and form.lon.data:
            location = (float(form.lon.data), float(form.lat.data))
    except ValueError:
        location = None
    area_code = request.args.get("area") if request.args.get("area") in current_app.config["DEFAULT_AREAS"] else None
    return render_template(template, form=form, errors=errors, options=options,
                           pin_map=pin_map_parts(session, location, area_code), **context), status


def _hours_read_back(form, reading: dict, **context):
    """The form again, with the hours as read filled in and "We read this as: ..." to confirm."""
    errors = {}
    if reading["reading"] is None:
        errors["hours_text"] = ("We could not read these hours. Write them like \"Mon-Fri 9am-5pm\", "
                                "or fill in the days below")
    return _render_form("contribute/form.html", form, errors, 400 if errors else 200, hours_reading=reading,
                        **context)


@bp.route("/contribute", methods=["GET", "POST"])
@submission_limit
def add():
    """Add a place or group: checked, warned about likely duplicates, then kept for review."""
    session = get_session()
    form = SubmissionForm()
    errors: dict[str, str] = {}
    duplicates: list[dict] = []
    if request.method == "POST":
        if form.website.data:
            return redirect(url_for(".thanks", kind="new"))
        reading = read_hours_into_form(form, asked="read_hours" in request.form)
        if reading is not None:
            return _hours_read_back(form, reading, mode="new", duplicates=[])
        options = form_options(session)
        values, errors = validate_asset(raw_from_form(form), checks_for(session, options))
        organisation, organisation_error = validate_organisation_name(form.organisation_name.data)
        if organisation_error:
            errors["organisation_name"] = organisation_error
        email, email_error = validate_email(form.submitter_email.data)
        if email_error:
            errors["submitter_email"] = email_error
        if not errors and not form.not_duplicate.data:
            duplicates = moderation.find_duplicates(session, values["name"], *values["location"])
        if not errors and not duplicates:
            moderation.submit_new(session, values, email, current_user_id(), organisation_name=organisation)
            session.commit()
            return redirect(url_for(".thanks", kind="new"))
        return _render_form("contribute/form.html", form, errors, 400 if errors else 200, mode="new",
                            duplicates=duplicates, options=options)
    return _render_form("contribute/form.html", form, errors, mode="new", duplicates=duplicates)


@bp.route("/contribute/change/<int:asset_id>", methods=["GET", "POST"])
@submission_limit
def change(asset_id: int):
    """Suggest a change: the form filled in with the asset as it is; makes a change request."""
    session = get_session()
    asset = moderation.get_public_asset(session, asset_id)
    if request.method == "GET":
        form = ChangeForm(data=form_data(asset))
        return _render_form("contribute/form.html", form, {}, mode="change", asset=asset, duplicates=[])
    form = ChangeForm()
    if form.website.data:
        return redirect(url_for(".thanks", kind="change"))
    reading = read_hours_into_form(form, asked="read_hours" in request.form)
    if reading is not None:
        return _hours_read_back(form, reading, mode="change", asset=asset, duplicates=[])
    options = form_options(session, asset)
    values, errors = validate_asset(raw_from_form(form), checks_for(session, options))
    email, email_error = validate_email(form.submitter_email.data)
    if email_error:
        errors["submitter_email"] = email_error
    comment, comment_error = validate_reason(form.comment.data, required=False)
    if comment_error:
        errors["comment"] = comment_error
    if not errors and not diff(asset, values) and not comment:
        errors["comment"] = "Nothing has been changed: change the details above, or tell us here what is wrong"
    if errors:
        return _render_form("contribute/form.html", form, errors, 400, mode="change", asset=asset,
                            duplicates=[], options=options)
    moderation.submit_change(session, asset_id, values, email, comment, current_user_id())
    session.commit()
    return redirect(url_for(".thanks", kind="change"))


@bp.route("/contribute/problem/<int:asset_id>", methods=["GET", "POST"])
@submission_limit
def problem(asset_id: int):
    """Report a problem: closed, wrong details, wrong place, or something else, with a comment."""
    session = get_session()
    asset = moderation.get_public_asset(session, asset_id)
    form = ProblemForm(data={"problem_type": request.args.get("type", "")} if request.method == "GET" else None)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if form.website.data:
            return redirect(url_for(".thanks", kind="problem"))
        values, errors = validate_problem({"problem_type": form.problem_type.data, "comment": form.comment.data,
                                           "submitter_email": form.submitter_email.data})
        if not errors:
            moderation.submit_problem(session, asset_id, values["problem_type"], values["comment"],
                                      values["submitter_email"], current_user_id())
            session.commit()
            return redirect(url_for(".thanks", kind="problem"))
    return render_template("contribute/problem.html", form=form, errors=errors, asset=asset,
                           problem_types=list(PROBLEM_TYPES.items())), (400 if errors else 200)


@bp.route("/contribute/thanks")
def thanks():
    kind = request.args.get("kind", "new")
    if kind not in ("new", "change", "problem"):
        kind = "new"
    return render_template("contribute/thanks.html", kind=kind)


def _meta(session) -> dict:
    return source_meta(catalogue.data_sources(session, [POSTCODE_DATASET]),
                       "Contains OS data © Crown copyright and database right")


@bp.route("/contribute/postcode")
def postcode_lookup():
    """``?postcode=SY1 1AA`` → its position, and whether that is inside the areas covered."""
    session = get_session()
    postcode = normalise_postcode(request.args.get("postcode"))
    if postcode is None:
        raise BadInputError("enter a real postcode, like SY1 1AA")
    point = moderation.postcode_point(session, postcode)
    if point is None:
        raise NotFoundError(f"we could not find the postcode {postcode}")
    lon, lat = point
    inside = (_bbox_check() or (lambda x, y: moderation.is_inside_loaded_area(session, x, y)))(lon, lat)
    return jsonify({"postcode": postcode, "lat": lat, "lon": lon, "inside": inside, "meta": _meta(session)})


def _float_arg(name: str) -> float:
    try:
        value = float(request.args.get(name, ""))
    except ValueError:
        raise BadInputError(f"{name} must be a number") from None
    if value != value or abs(value) > (90 if name == "lat" else 180):
        raise BadInputError(f"{name} is out of range")
    return value


@bp.get("/contribute/hours")
@limiter.limit(lambda: current_app.config["ASSETMAP_HOURS_READ_RATE_LIMIT"])
def hours_reading():
    """``?text=Mon-Fri 9-5`` → how the form reads these hours (``{"said", "reading", "notes"}``,
    ``reading`` None when not understood), by the same reader as its "Read these hours" button,
    for the script to show as the person types. Writes nothing (so needs no CSRF token)."""
    said = (request.args.get("text") or "").strip()
    if len(said) > HOURS_TEXT_MAX:
        raise BadInputError(f"That is longer than we can read: keep the hours under {HOURS_TEXT_MAX} characters",
                            details={"parameter": "text"})
    return jsonify(reading_shown(said, read_free_text(said)))


@bp.route("/contribute/organisations")
def organisations():
    """``?q=words`` → organisations whose name has them, for the "who runs it" field's suggestions."""
    found = moderation.organisation_suggestions(get_session(), (request.args.get("q") or "")[:200])
    return jsonify({"organisations": [{"id": o["id"], "name": o["name"], "places": o["places"]} for o in found]})


@bp.route("/contribute/duplicates")
def duplicates():
    """``?name=...&lat=...&lon=...[&exclude=id]`` → places with a similar name within about 150 m."""
    session = get_session()
    name = (request.args.get("name") or "").strip()[:300]
    exclude = int_arg("exclude", None)
    found = moderation.find_duplicates(session, name, _float_arg("lon"), _float_arg("lat"), exclude_asset_id=exclude)
    items = [{"id": d["id"], "name": d["name"], "address": d["address"], "postcode": d["postcode"],
              "status": d["status"], "distance_m": d["distance_m"],
              "change_url": url_for(".change", asset_id=d["id"]) if d["status"] == "published" else None}
             for d in found]
    return jsonify({"duplicates": items, "meta": _meta(session)})


bp.register_error_handler(CSRFError, form_expired)


@bp.errorhandler(413)
def _too_large(exc):
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    message = (f"That was more than we can take in one go (the limit is {limit / 1_048_576:.0f} MB). "
               "Please shorten the longest descriptions and send it again." if limit >= 1_048_576 else
               "That was more than we can take in one go. Please shorten the longest descriptions and send it again.")
    return render_template("error.html", status=413, title="Too much to send", message=message, details={}), 413
