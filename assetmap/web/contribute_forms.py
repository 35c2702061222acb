"""The forms of the contribute, moderate and sign-in pages (Flask-WTF: parsing and CSRF).

The forms only read what was sent; the rules are in :mod:`assetmap.domain.contribution`, which
reports problems by field. :func:`raw_from_form` turns a form into what the domain checks, and
:func:`form_data` fills a form from an asset's values.
"""
from __future__ import annotations

from typing import Any

from flask import render_template
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectMultipleField, StringField, TextAreaField

from assetmap.domain.contribution import format_day_periods
from assetmap.domain.opening_hours import DAYS
from assetmap.domain.opening_hours_text import HoursReading, read_free_text
from assetmap.domain.revisions import EDITABLE_FIELDS


def _multi(label: str) -> SelectMultipleField:
    # Choices are checked by the domain, with a message a person can act on.
    return SelectMultipleField(label, choices=[], validate_choice=False)


class AssetForm(FlaskForm):
    """The fields of an asset; the opening-hours editor adds ``hours_<day>_state`` and ``_times``."""

    name = StringField("Name of the place or group")
    organisation_name = StringField("Who runs it")
    description = TextAreaField("What it offers")
    asset_types = _multi("What kind of place or group is it?")
    five_ways = _multi("Five Ways to Wellbeing")
    postcode = StringField("Postcode")
    lat = StringField("Latitude")
    lon = StringField("Longitude")
    address = TextAreaField("Address")
    town = StringField("Town or village")
    service_area_id = StringField("Who it serves")
    phone = StringField("Phone")
    email = StringField("Email")
    url = StringField("Website")
    hours_text = TextAreaField("Or write when it is open, as you would say it")
    opening_hours_note = TextAreaField("Anything else about when it is open")
    cost = StringField("Cost")
    is_free = StringField("Is it free?")
    access_modes = _multi("How do people get in?")
    age_groups = _multi("Ages")
    eligibility_note = TextAreaField("Who can use it")
    accessibility = _multi("Accessibility")
    accepting_referrals = StringField("Is it taking new people or referrals?")


for _day in DAYS:
    setattr(AssetForm, f"hours_{_day}_state", StringField("Open?"))
    setattr(AssetForm, f"hours_{_day}_times", StringField("Times"))


class SubmissionForm(AssetForm):
    submitter_email = StringField("Your email address")
    # Honeypot: hidden from people (and screen readers); bots fill in every field they find.
    website = StringField("Leave this empty")
    not_duplicate = BooleanField("It is not one of these: add it as a new place")


class ChangeForm(AssetForm):
    comment = TextAreaField("What has changed?")
    submitter_email = StringField("Your email address")
    website = StringField("Leave this empty")


class ReviewForm(AssetForm):
    version = HiddenField()
    reason = TextAreaField("Reason")


class EditForm(AssetForm):
    version = HiddenField()
    reason = TextAreaField("What you changed and why (kept in the history)")


class ProblemForm(FlaskForm):
    problem_type = StringField("What is wrong?")
    comment = TextAreaField("Tell us more")
    submitter_email = StringField("Your email address")
    website = StringField("Leave this empty")


class ActionForm(FlaskForm):
    """A button that changes an asset: archive, restore, verify."""

    version = HiddenField()
    reason = TextAreaField("Reason")


class LoginForm(FlaskForm):
    email = StringField("Email address")
    password = PasswordField("Password")
    remember = BooleanField("Keep me signed in on this device")


class UserForm(FlaskForm):
    email = StringField("Email address")
    name = StringField("Name")
    role = StringField("Role")
    password = PasswordField("Temporary password (12 characters or more, not a common one)")


class RoleForm(FlaskForm):
    role = StringField("Role")
    active = BooleanField("Can sign in")


def raw_from_form(form: AssetForm) -> dict[str, Any]:
    """What the domain's :func:`~assetmap.domain.contribution.validate_asset` reads."""
    raw = {name: form[name].data for name in EDITABLE_FIELDS
           if name in form and name not in ("location", "opening_hours")}
    raw["lat"], raw["lon"] = form.lat.data, form.lon.data
    raw["opening_hours"] = {
        day: {"state": form[f"hours_{day}_state"].data, "times": form[f"hours_{day}_times"].data} for day in DAYS
    }
    return raw


#: The longest hours "as you would say it" that are read (a week's timetable is far shorter).
HOURS_TEXT_MAX = 500


def reading_shown(said: str, reading: HoursReading) -> dict[str, Any]:
    """What the form shows of a reading of ``said``: ``{"said", "reading": the reading in a line,
    or None when not understood, "notes": [...]}`` (the page after "Read these hours", and the
    reading shown as the hours are typed)."""
    return {"said": said, "reading": reading.describe() if reading.schedule is not None else None,
            "notes": list(reading.notes)}


def read_hours_into_form(form: AssetForm, *, asked: bool) -> dict[str, Any] | None:
    """Read the hours written "as you would say it" into the day-by-day editor, to be checked.

    Done when the person pressed "Read these hours" (``asked``), or sent the form with that text
    and the day-by-day editor left empty. The reading replaces the editor's days, its notes
    ("term time only") are added to the opening-hours note, and the text is cleared, so the
    next send saves what the person has now seen.

    Returns
    -------
    dict or None
        None when there was nothing to read; else ``{"said": the text, "reading": the
        reading in a line or None when not understood, "notes": [...]}``.
    """
    said = (form.hours_text.data or "").strip()
    editor_empty = all((form[f"hours_{day}_state"].data or "unknown") == "unknown"
                       and not (form[f"hours_{day}_times"].data or "").strip() for day in DAYS)
    if not said or not (asked or editor_empty):
        return None
    reading = read_free_text(said[:HOURS_TEXT_MAX])
    if reading.schedule is None:
        return reading_shown(said, reading)
    for day, periods in zip(DAYS, reading.schedule.days):
        form[f"hours_{day}_state"].data = "unknown" if periods is None else ("open" if periods else "closed")
        form[f"hours_{day}_times"].data = format_day_periods([list(p.as_pair()) for p in periods or ()])
    note = (form.opening_hours_note.data or "").strip()
    extra = [n for n in reading.notes if n.lower() not in note.lower()]
    form.opening_hours_note.data = "; ".join([note, *extra] if note else extra)
    form.hours_text.data = ""
    return reading_shown(said, reading)


def _tri(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def form_data(values: dict[str, Any]) -> dict[str, Any]:
    """Form data for an asset's values (snapshot normal form), to pre-fill a form."""
    data = {name: values.get(name) for name in EDITABLE_FIELDS if name not in ("location", "opening_hours")}
    for name in ("is_free", "accepting_referrals"):
        data[name] = _tri(values.get(name))
    data["organisation_name"] = values.get("organisation_name")
    data["service_area_id"] = "" if values.get("service_area_id") is None else str(values["service_area_id"])
    location = values.get("location")
    data["lat"], data["lon"] = ("", "") if not location else (f"{location[1]:.6f}", f"{location[0]:.6f}")
    hours = values.get("opening_hours") or {}
    for day in DAYS:
        periods = hours.get(day)
        data[f"hours_{day}_state"] = "unknown" if periods is None else ("open" if periods else "closed")
        data[f"hours_{day}_times"] = format_day_periods(periods)
    return {k: ("" if v is None else v) for k, v in data.items()}


def form_expired(exc):
    """The page for a form sent without a valid CSRF token (Flask-WTF's CSRFError): what to do."""
    message = ("The form could not be accepted: it had expired, or did not come from this site "
               "(its CSRF security token was missing or wrong). Go back, reload the page, and send it again.")
    return render_template("error.html", status=400, title="Please send the form again", message=message,
                           details={}), 400
