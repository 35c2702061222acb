"""Staged reminder emails about assets nobody has checked, received by a local SMTP sink."""
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from assetmap.db import moderation
from assetmap.mail import MailSettings, send_stale_reminders
from tests.contribute_fixtures import make_user
from tests.factories import make_asset

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def settings_for(sink, **overrides) -> MailSettings:
    return MailSettings(host="127.0.0.1", port=sink.port, sender="Community map <map@example.org>",
                        base_url="https://map.example.org", **overrides)


def test_first_reminder_then_urgent_then_nothing(db_session, smtp_sink):
    old = make_asset(db_session, "Lunch Club", email="lunch@example.org", created_at=NOW - timedelta(days=400))
    make_asset(db_session, "New Group", email="new@example.org", created_at=NOW - timedelta(days=10))
    make_asset(db_session, "No Email Group", created_at=NOW - timedelta(days=400))
    settings = settings_for(smtp_sink)

    report = send_stale_reminders(db_session, settings, now=NOW)
    assert report.sent == [(old.id, "first", "lunch@example.org")] and report.ok
    assert len(smtp_sink.messages) == 1
    received = smtp_sink.messages[0]
    assert received["to"] == ["lunch@example.org"]
    message = received["message"]
    assert message["Subject"] == 'Is "Lunch Club" still right on the community map?'
    assert message["From"] == "Community map <map@example.org>"
    assert f"https://map.example.org/contribute/change/{old.id}" in message.get_content()

    # Run again the same day: nothing new. Two weeks on: the reminder; two more: urgent; then no more.
    assert send_stale_reminders(db_session, settings, now=NOW + timedelta(days=1)).sent == []
    stages = []
    for days in (14, 28, 42, 56):
        stages += [s for _, s, _ in send_stale_reminders(db_session, settings, now=NOW + timedelta(days=days)).sent]
    assert stages == ["reminder", "urgent"]
    subjects = [m["message"]["Subject"] for m in smtp_sink.messages]
    assert subjects[1].startswith("Reminder:") and subjects[2].startswith("Last reminder:")
    logged = db_session.execute(text("SELECT stage FROM asset_reminder WHERE asset_id = :i ORDER BY sent_at"),
                                {"i": old.id}).scalars().all()
    assert logged == ["first", "reminder", "urgent"]


def test_checking_an_asset_starts_the_count_again(db_session, smtp_sink):
    moderator = make_user(db_session, "mod@example.org", "moderator")
    asset = make_asset(db_session, "Lunch Club", email="lunch@example.org", created_at=NOW - timedelta(days=400))
    settings = settings_for(smtp_sink)
    send_stale_reminders(db_session, settings, now=NOW)
    moderation.verify_asset(db_session, asset.id, moderator["id"])
    db_session.execute(text("UPDATE asset SET last_verified_at = :t WHERE id = :i"),
                       {"t": NOW + timedelta(days=1), "i": asset.id})
    assert send_stale_reminders(db_session, settings, now=NOW + timedelta(days=30)).sent == []
    # A year after that check it is stale again, and starts from the first email.
    report = send_stale_reminders(db_session, settings, now=NOW + timedelta(days=400))
    assert [s for _, s, _ in report.sent] == ["first"]


def test_a_refused_address_is_reported_and_the_others_still_go(db_session, smtp_sink):
    make_asset(db_session, "Bounced", email="someone@refused.example", created_at=NOW - timedelta(days=400))
    ok = make_asset(db_session, "Fine", email="fine@example.org", created_at=NOW - timedelta(days=400))
    report = send_stale_reminders(db_session, settings_for(smtp_sink), now=NOW)
    assert [a for a, _, _ in report.sent] == [ok.id]
    assert len(report.failed) == 1 and "someone@refused.example" in report.failed[0][1]
    assert not report.ok and "failed: 1" in report.summary()


def test_only_sources_asked_for_and_dry_run(db_session, smtp_sink):
    make_asset(db_session, "Imported Library", email="lib@example.org", created_at=NOW - timedelta(days=400))
    web = make_asset(db_session, "Volunteer Group", email="vg@example.org", created_at=NOW - timedelta(days=400))
    db_session.execute(text("UPDATE asset SET source = 'web' WHERE id = :i"), {"i": web.id})
    report = send_stale_reminders(db_session, settings_for(smtp_sink), now=NOW, sources=["web"], dry_run=True)
    assert report.sent == [(web.id, "first", "vg@example.org")]
    assert smtp_sink.messages == []
    assert db_session.execute(text("SELECT count(*) FROM asset_reminder")).scalar_one() == 0


def test_remind_stale_command(runner, db_url, smtp_sink, monkeypatch):
    from assetmap.cli import main
    from assetmap.db.engine import session_scope

    with session_scope(db_url) as s:
        asset = make_asset(s, "CLI Club", email="cli@example.org", created_at=datetime.now(UTC) - timedelta(days=800))
        s.execute(text("UPDATE asset SET source = 'web' WHERE id = :i"), {"i": asset.id})
        asset_id = asset.id
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("ASSETMAP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ASSETMAP_SMTP_PORT", str(smtp_sink.port))
    monkeypatch.delenv("ASSETMAP_BASE_URL", raising=False)
    try:
        result = runner.invoke(main, ["remind", "stale", "--dry-run"])
        assert result.exit_code == 0, result.output
        assert f"would send first about asset {asset_id} to cli@example.org" in result.output
        assert "reminders that would be sent (dry run, nothing sent): 1" in result.output
        assert "reminders sent" not in result.output
        assert smtp_sink.messages == []
        result = runner.invoke(main, ["remind", "stale"])
        assert result.exit_code == 2 and "set ASSETMAP_BASE_URL" in result.output  # links would be wrong
        monkeypatch.setenv("ASSETMAP_BASE_URL", "https://map.example.org")
        result = runner.invoke(main, ["remind", "stale"])
        assert result.exit_code == 0, result.output
        assert "reminders sent: 1 (first 1" in result.output
        assert [m["to"] for m in smtp_sink.messages] == [["cli@example.org"]]
        monkeypatch.setenv("ASSETMAP_SMTP_PORT", "1")  # nothing listens there
        with session_scope(db_url) as s:
            s.execute(text("DELETE FROM asset_reminder WHERE asset_id = :i"), {"i": asset_id})
        result = runner.invoke(main, ["remind", "stale"])
        assert result.exit_code == 2 and "cannot reach the mail server" in result.output
    finally:
        with session_scope(db_url) as s:
            s.execute(text("DELETE FROM asset_reminder WHERE asset_id = :i"), {"i": asset_id})
            s.execute(text("DELETE FROM asset_term WHERE asset_id = :i"), {"i": asset_id})
            s.execute(text("DELETE FROM asset WHERE id = :i"), {"i": asset_id})


def test_one_email_an_address_listing_all_its_assets(db_session, smtp_sink):
    shared = [make_asset(db_session, f"Barnsley Group {i}", email="hub@example.org" if i % 2 else "HUB@example.org ",
                         created_at=NOW - timedelta(days=400)) for i in range(5)]
    alone = make_asset(db_session, "Alone", email="alone@example.org", created_at=NOW - timedelta(days=400))
    report = send_stale_reminders(db_session, settings_for(smtp_sink), now=NOW)
    assert sorted(a for a, _, _ in report.sent) == sorted([a.id for a in shared] + [alone.id])
    assert report.emails == 2 and "in 2 emails" in report.summary()
    assert len(smtp_sink.messages) == 2
    digest = next(m["message"] for m in smtp_sink.messages if m["to"] != ["alone@example.org"])
    assert digest["Subject"] == "Are these 5 places still right on the community map?"
    body = digest.get_content()
    for asset in shared:
        assert "Barnsley Group" in body and f"https://map.example.org/contribute/change/{asset.id}" in body
    # Every asset's stage is recorded, so the next stage follows for each.
    assert db_session.execute(text("SELECT count(*) FROM asset_reminder")).scalar_one() == 6
    assert send_stale_reminders(db_session, settings_for(smtp_sink), now=NOW).sent == []


def test_a_second_run_while_one_holds_the_lock_sends_nothing(db_session, db_url, smtp_sink):
    from assetmap.db.engine import make_session

    make_asset(db_session, "Lunch Club", email="lunch@example.org", created_at=NOW - timedelta(days=400))
    first = send_stale_reminders(db_session, settings_for(smtp_sink), now=NOW)
    assert len(first.sent) == 1 and not first.busy
    # The first run's transaction is still open (its lock held): a run elsewhere does nothing.
    other = make_session(db_url)
    try:
        second = send_stale_reminders(other, settings_for(smtp_sink), now=NOW)
        dry = send_stale_reminders(other, settings_for(smtp_sink), now=NOW, dry_run=True)
    finally:
        other.rollback()
        other.close()
    assert second.busy and second.sent == [] and second.ok
    assert second.summary() == "another reminder run is in progress; this one sent nothing"
    assert dry.busy
    assert len(smtp_sink.messages) == 1


def test_overlapping_runs_send_each_address_once(db_url, smtp_sink):
    import threading

    from assetmap.db.engine import session_scope

    with session_scope(db_url) as s:
        ids = [make_asset(s, f"Overlap {i}", email=f"o{i % 3}@example.org", created_at=NOW - timedelta(days=400)).id
               for i in range(30)]
    reports, start = [], threading.Barrier(2)

    def run():
        start.wait()
        with session_scope(db_url) as s:
            reports.append(send_stale_reminders(s, settings_for(smtp_sink), now=NOW))

    try:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(m["to"][0] for m in smtp_sink.messages) == ["o0@example.org", "o1@example.org", "o2@example.org"]
        assert sorted(len(r.sent) for r in reports) == [0, 30]
    finally:
        with session_scope(db_url) as s:
            s.execute(text("DELETE FROM asset_reminder WHERE asset_id = ANY(:i)"), {"i": ids})
            s.execute(text("DELETE FROM asset_term WHERE asset_id = ANY(:i)"), {"i": ids})
            s.execute(text("DELETE FROM asset WHERE id = ANY(:i)"), {"i": ids})
