"""The plain-Python rules of contribution: field-by-field validation, revisions (snapshot, diff,
restore), permissions and reminder stages. No database, no Flask."""
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from assetmap.domain import permissions, revisions
from assetmap.domain.contribution import Checks, validate_asset, validate_problem
from assetmap.errors import BadInputError
from assetmap.mail import MailSettings, compose_reminder, next_stage

CHECKS = Checks(
    asset_types=frozenset({"community-group", "library"}),
    five_ways=frozenset({"connect", "give"}),
    service_areas=frozenset({7}),
    locate_postcode=lambda pc: (-3.0579, 52.8553) if pc == "SY11 2AA" else None,
    is_inside=lambda lon, lat: -3.3 < lon < -2.2 and 52.3 < lat < 53.0,
)


def raw(**overrides):
    data = {"name": "Knit and Natter", "asset_types": ["community-group"], "postcode": "SY11 2AA"}
    data.update(overrides)
    return data


def test_a_minimal_submission_is_placed_at_its_postcode():
    values, errors = validate_asset(raw(), CHECKS)
    assert errors == {}
    assert values["location"] == [-3.0579, 52.8553]
    assert values["postcode"] == "SY11 2AA"
    assert set(values) == set(revisions.EDITABLE_FIELDS)


def test_a_pin_wins_over_the_postcode_and_must_be_inside_the_areas_covered():
    values, errors = validate_asset(raw(lat="52.86", lon="-3.054"), CHECKS)
    assert errors == {} and values["location"] == [-3.054, 52.86]
    _, errors = validate_asset(raw(lat="51.5", lon="-0.12"), CHECKS)  # London
    assert errors == {"location": "That position is outside the areas this map covers; check it, or move the pin"}
    _, errors = validate_asset(raw(lat="52.86", lon=""), CHECKS)
    assert "location" in errors
    _, errors = validate_asset(raw(lat="north", lon="-3"), CHECKS)
    assert errors["location"].startswith("The position must be two numbers")
    _, errors = validate_asset(raw(lat="nan", lon="inf"), CHECKS)
    assert "location" in errors


def test_unknown_and_malformed_postcodes_say_so_on_the_postcode_field():
    _, errors = validate_asset(raw(postcode="SY99 9ZZ"), CHECKS)
    assert errors == {"postcode": "We could not find the postcode SY99 9ZZ; check it, or place a pin on the map"}
    _, errors = validate_asset(raw(postcode="banana"), CHECKS)
    assert errors == {"postcode": "Enter a real postcode, like SY1 1AA"}
    _, errors = validate_asset(raw(postcode=""), CHECKS)
    assert errors == {"postcode": "Enter the postcode, or place a pin on the map"}


def test_every_field_reports_its_own_problem():
    values, errors = validate_asset(raw(
        name="x" * 301, asset_types=["spaceport"], five_ways=["sleep"], phone="call me", email="nobody",
        url="javascript:alert(1)", service_area_id="999", is_free="perhaps", access_modes=["teleport"],
        opening_hours={"mon": {"state": "open", "times": "after lunch"},
                                             "tue": {"state": "closed", "times": "09:00-17:00"},
                                             "wed": {"state": "open", "times": ""}},
    ), CHECKS)
    assert set(errors) == {"name", "asset_types", "five_ways", "phone", "email", "url", "service_area_id",
                           "is_free", "access_modes", "hours_mon", "hours_tue", "hours_wed"}
    assert errors["asset_types"] == "Choose a type from the list (spaceport is not one)"
    assert errors["hours_mon"].startswith("Monday: cannot read 'after lunch'")
    assert errors["hours_tue"].startswith("Tuesday: you chose closed but gave times")
    assert values["url"] is None


def test_text_is_kept_as_text_without_control_characters():
    values, errors = validate_asset(raw(name="<script>alert('x')</script>\x00 `${1}`",
                                        description="Line one\nLine two\x07"), CHECKS)
    assert errors == {}
    assert values["name"] == "<script>alert('x')</script> `${1}`"  # escaping is the page's job
    assert values["description"] == "Line one\nLine two"


def test_opening_hours_editor_reads_times_as_typed():
    values, errors = validate_asset(raw(opening_hours={
        "mon": {"state": "open", "times": "9:00-12:30, 13.30 to 17:00"},
        "sat": {"state": "unknown", "times": "22:00-02:00"},  # times given: open
        "sun": {"state": "closed", "times": ""},
    }), CHECKS)
    assert errors == {}
    assert values["opening_hours"] == {"mon": [["09:00", "12:30"], ["13:30", "17:00"]], "sat": [["22:00", "02:00"]],
                                       "sun": []}


def test_urls_get_a_scheme_and_choices_are_normalised():
    values, errors = validate_asset(raw(url="www.example.org/x", access_modes=["referral", "drop_in"],
                                        service_area_id="7", is_free="yes"), CHECKS)
    assert errors == {}
    assert values["url"] == "https://www.example.org/x"
    assert values["access_modes"] == ["drop_in", "referral"]
    assert values["service_area_id"] == 7 and values["is_free"] is True


def test_problem_reports():
    assert validate_problem({"problem_type": "closed"})[1] == {}
    assert validate_problem({"problem_type": "gone fishing"})[1] == {"problem_type": "Choose what is wrong"}
    assert validate_problem({"problem_type": "closed", "submitter_email": "x@"})[1] == {
        "submitter_email": "Enter an email address in the right format, like name@example.com"}


def test_revision_diff_and_restore_cover_only_editable_fields():
    before = revisions.snapshot({"name": "Hub", "asset_types": ["library"], "status": "pending", "version": 1})
    after = revisions.snapshot({"name": "The Hub", "asset_types": ["library"], "location": (-3.0, 52.9),
                                "status": "published", "version": 2})
    assert revisions.diff(before, after) == {"name": ["Hub", "The Hub"], "location": [None, [-3.0, 52.9]],
                                             "status": ["pending", "published"]}
    values, status = revisions.restorable_values(before)
    assert values["name"] == "Hub" and status is None  # a pending snapshot does not un-publish
    # An importer's snapshot has fewer fields: the others are left alone.
    values, status = revisions.restorable_values({"name": "Library", "location": [-2.7, 52.4], "uuid": "u",
                                                  "source": "libraries", "status": "published"})
    assert set(values) == {"name", "location"} and status == "published"


def test_display_values_are_plain_text():
    labels = {"asset_types": {"library": "Library"}, "service_area_id": {7: "Oswestry East"}}
    assert revisions.display_value("asset_types", ["library"], labels) == "Library"
    assert revisions.display_value("service_area_id", 7, labels) == "Oswestry East"
    assert revisions.display_value("phone", None) == "(none)"


def user(role, active=True):
    return SimpleNamespace(role=role, active=active, is_authenticated=True, id=1)


@pytest.mark.parametrize("role, moderate, manage", [
    ("volunteer", False, False), ("planner", False, False), ("moderator", True, False), ("admin", True, True),
])
def test_roles(role, moderate, manage):
    assert permissions.can_moderate(user(role)) is moderate
    assert permissions.can_manage_users(user(role)) is manage
    assert permissions.can_edit(user(role), {"status": "published"}) is moderate
    assert permissions.can_moderate(user(role, active=False)) is False


def test_anonymous_users_can_do_nothing_and_the_last_admin_stays():
    anonymous = SimpleNamespace(is_authenticated=False)
    assert not permissions.can_moderate(anonymous) and not permissions.can_edit(anonymous, {"status": "published"})
    with pytest.raises(permissions.RoleChangeError, match="at least one active administrator"):
        permissions.check_role_change(user("admin"), 1, "admin", active=False, other_active_admins=0)
    with pytest.raises(permissions.RoleChangeError, match="unknown role"):
        permissions.check_role_change(user("admin"), 2, "overlord", active=True, other_active_admins=1)
    with pytest.raises(permissions.RoleChangeError, match="only an administrator"):
        permissions.check_role_change(user("moderator"), 2, "admin", active=True, other_active_admins=1)


def test_reminders_go_first_reminder_urgent_then_stop():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    stages, last, sent = [], None, None
    for day in range(0, 60):
        at = now + timedelta(days=day)
        stage = next_stage(last, sent, at, 14)
        if stage:
            stages.append((day, stage))
            last, sent = stage, at
    assert stages == [(0, "first"), (14, "reminder"), (28, "urgent")]


def test_reminder_email_is_plain_text_with_links():
    msg = compose_reminder({"id": 3, "name": "<b>Hub</b>", "email": "hub@example.org",
                            "checked_at": datetime(2024, 5, 1, tzinfo=UTC)}, "urgent",
                           MailSettings(base_url="https://map.example.org"), datetime(2026, 1, 1, tzinfo=UTC))
    assert msg["To"] == "hub@example.org"
    assert msg["Subject"].startswith("Last reminder:")
    assert msg.get_content_type() == "text/plain"
    body = msg.get_content()
    assert "since 1 May 2024" in body and "https://map.example.org/contribute/problem/3" in body


def test_mail_settings_from_the_environment():
    settings = MailSettings.from_env({"ASSETMAP_SMTP_HOST": "smtp.example.org", "ASSETMAP_SMTP_USERNAME": "u",
                                      "ASSETMAP_STALE_MONTHS": "6"})
    assert (settings.port, settings.security, settings.stale_months) == (587, "starttls", 6)
    with pytest.raises(BadInputError, match="none, starttls or ssl"):
        MailSettings.from_env({"ASSETMAP_SMTP_SECURITY": "carrier-pigeon"})


@pytest.mark.parametrize("typed, read", [
    ("9 till 5", [["09:00", "17:00"]]),
    ("10am - 12pm", [["10:00", "12:00"]]),
    ("9.30am to 1pm", [["09:30", "13:00"]]),
    ("09:00-12:30, 13:30-17:00", [["09:00", "12:30"], ["13:30", "17:00"]]),
])
def test_day_times_are_read_as_people_write_them(typed, read):
    from assetmap.domain.contribution import parse_day_periods

    assert parse_day_periods(typed) == read
