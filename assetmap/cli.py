"""The ``assetmap`` command: thin click wrappers around functions that know nothing of click."""
from __future__ import annotations

import os
import re
import sys
import time
from datetime import UTC
from pathlib import Path

import click

from assetmap import config
from assetmap.db.cluster import database_url
from assetmap.errors import AssetmapError


def _progress(total=None, desc=None):
    from tqdm import tqdm

    # On a terminal the bar redraws; in CI logs it prints a line every few seconds.
    return tqdm(total=total, desc=desc, unit="rows" if (total or 0) > 1000 else "", file=sys.stderr,
                mininterval=0.2 if sys.stderr.isatty() else 5, leave=False, dynamic_ncols=True)


def _fail(message: str, code: int = 2):
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


class Group(click.Group):
    """Turn the application's own errors into a one-line message and a non-zero exit."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except AssetmapError as exc:
            _fail(exc.message)


@click.group(cls=Group)
def main():
    """assetmap: community assets, needs and gaps on a live map."""


# --- database ------------------------------------------------------------------------------
@main.group(cls=Group)
def db():
    """The database: the project-local PostGIS cluster (up and down do nothing when DATABASE_URL
    is set), its URL, its status and its migrations."""


def _cluster():
    from assetmap.db.cluster import LocalCluster

    return LocalCluster.default(config.instance_dir())


def _external() -> bool:
    import os

    return bool(os.environ.get("DATABASE_URL"))


@db.command("up")
def db_up():
    """Create (first time) and start the local cluster."""
    if _external():
        click.echo("DATABASE_URL is set: using that server, no local cluster started")
        return
    _cluster().up(echo=click.echo)
    click.echo(f"database: {_cluster().status()}")


@db.command("down")
def db_down():
    """Stop the local cluster."""
    _cluster().down(echo=click.echo)


def _shown(url: str) -> str:
    """A database URL fit to print: the password masked, no driver suffix."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=True)


@db.command("status")
def db_status():
    """The database in use, its schema version and the migrations not yet applied. Exit 1 when
    the database does not answer or migrations are pending."""
    from assetmap.db import migrate
    from assetmap.db.engine import get_engine

    if _external():
        click.echo(f"database: {_shown(database_url())} (DATABASE_URL)")
    else:
        click.echo(f"local cluster: {_cluster().status()}")
    url = database_url()
    try:
        with get_engine(url).connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        current = migrate.current_revisions(url)
    except Exception as exc:
        click.echo(f"schema: unknown, the database does not answer ({str(exc).strip().splitlines()[0]})")
        sys.exit(1)
    pending = migrate.pending_revisions(url)
    click.echo(f"schema: {', '.join(sorted(current)) or 'empty (run `assetmap db upgrade`)'}; "
               f"newest: {migrate.head_revision()}")
    if pending:
        click.echo(f"pending migrations ({len(pending)}): {', '.join(pending)}; run `assetmap db upgrade`")
        sys.exit(1)
    click.echo("pending migrations: none")


@db.command("url")
@click.option("--database", default=None, help="Database name (default: assetmap).")
@click.option("--libpq", is_flag=True,
              help="Without the +psycopg driver suffix, for psql, pg_dump and other libpq tools.")
def db_url(database, libpq):
    """Print the URL of the database in use (password included: it is for scripts).

    psql "$(assetmap db url --libpq)" opens a shell on it."""
    from assetmap.db.backup import libpq_url

    url = database_url(database)
    click.echo(libpq_url(url) if libpq else url)


# --- redis -----------------------------------------------------------------------------------
@main.group("redis", cls=Group)
def redis_group():
    """The project-local Redis that shares rate limits between workers (ignored when REDIS_URL
    is set)."""


def _local_redis():
    from assetmap.db.redis_server import LocalRedis

    return LocalRedis.default()


@redis_group.command("up")
def redis_up():
    """Create (first time) and start the local Redis."""
    import os

    if os.environ.get("REDIS_URL"):
        click.echo("REDIS_URL is set: using that server, no local Redis started")
        return
    _local_redis().up(echo=click.echo)
    click.echo(f"redis: {_local_redis().status()}")


@redis_group.command("down")
def redis_down():
    """Stop the local Redis."""
    _local_redis().down(echo=click.echo)


@redis_group.command("status")
def redis_status():
    click.echo(_local_redis().status())


@redis_group.command("url")
def redis_url():
    """Print the URL of the Redis in use (REDIS_URL, else the local one)."""
    import os

    click.echo(os.environ.get("REDIS_URL") or _local_redis().url())


@db.command("upgrade")
def db_upgrade():
    """Migrate to the newest schema and seed reference data (safe on every deploy)."""
    _init()


@main.command("init")
def init():
    """Create the database if needed, migrate to head, seed vocabularies and data sources."""
    _init()


def _init():
    from assetmap.db import area_geometry, migrate
    from assetmap.db.engine import session_scope
    from assetmap.db.seed import seed_datasets, seed_taxonomy

    url = database_url()
    migrate.upgrade(url)
    with session_scope(url) as session:
        terms, datasets = seed_taxonomy(session), seed_datasets(session)
        # LSOA points and map shapes are made by the demo and when a run is computed;
        # fill any missing (a database from before runs made them, or loaded by hand).
        made = area_geometry.refresh_area_geometry(session, check_changed=False)
    click.echo(f"database at head ({migrate.head_revision()}); seeded {terms} new terms, {datasets} new data sources"
               + (f"; made {made['points']} LSOA points, {made['tiles']} map shapes" if any(made.values()) else ""))


# --- imports -------------------------------------------------------------------------------
@main.group("import", cls=Group)
def import_():
    """Import official files as published. Prints a report; exit 1 if some rows were reported."""


def _run_import(kind: str, dataset_key: str, path: Path, fn, force: bool = True):
    from assetmap.importers.runner import run_import

    started = time.monotonic()
    report = run_import(database_url(), kind, dataset_key, Path(path), fn, force=force)
    if report is None:
        click.echo(f"{Path(path).name}: already imported and unchanged (skipped)")
        return None
    click.echo(report.summary())
    click.echo(f"  took {time.monotonic() - started:.1f} s")
    return report


@import_.command("boundaries")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--level", type=click.Choice(["lsoa", "msoa", "ward", "lad", "lsoa21", "msoa21", "ward24"]),
              default=None, help="Force the level (default: from the ONS code property and its year: "
                                 "LSOA11CD -> lsoa, LSOA21CD -> lsoa21, WD22CD -> ward24; or the file name).")
@click.option("--lad", "lad_code", default=None, help="Local authority code of every area in the file.")
def import_boundaries_cmd(path, level, lad_code):
    """ONS boundary GeoJSON (.geojson or .geojson.gz)."""
    from assetmap.importers.boundaries import fill_missing_lad_codes, import_boundaries

    def fn(session, p):
        report = import_boundaries(session, p, level=level, lad_code=lad_code, progress=_progress)
        fill_missing_lad_codes(session)
        return report

    key = "ons-boundaries-2021" if re.search(r"(lsoa|msoa)21|wards?2\d", Path(path).name.lower()) else "ons-boundaries"
    _exit_for(_run_import("boundaries", key, path, fn))


@import_.command("indicators")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--lad", "lad_codes", multiple=True, help="Only these local authorities (repeatable).")
@click.option("--key", default=None, help="Any other CSV keyed by LSOA, MSOA or ward code: the indicator's key.")
@click.option("--label", default=None, help="Any other CSV: the indicator's name (default: the key).")
@click.option("--lower-is-more-need", is_flag=True, help="Any other CSV: a lower value means more need.")
@click.option("--code-column", default=None, help="Any other CSV: the column of area codes (default: found).")
@click.option("--value-column", default=None, help="Any other CSV: the column of values (default: found).")
@click.option("--vintage", type=click.Choice(["2011", "2021"]), default=None,
              help="Any other CSV: the geography its codes are of (default: the one more of them are loaded in).")
def import_indicators_cmd(path, lad_codes, key, label, lower_is_more_need, code_column, value_column, vintage):
    """English Indices of Deprivation 2019, File 1, 2 or 6 (CSV as published); IoD 2025 File 1 or
    File 3 (the publisher's workbooks) or its domains CSV; or any CSV of values keyed by LSOA, MSOA
    or ward code (then --key is required)."""
    from assetmap.importers.boundaries import derive_lad_geometries
    from assetmap.importers.indicators import import_area_csv, import_iod, is_iod_csv
    from assetmap.importers.iod2025 import import_iod2025, is_iod2025_file

    if Path(path).exists() and is_iod2025_file(path):
        def iod2025(session, p):
            report = import_iod2025(session, p, lad_codes=list(lad_codes) or None, progress=_progress)
            derive_lad_geometries(session, progress=_progress)
            return report

        _exit_for(_run_import("indicators", "iod2025", path, iod2025))
        return

    if Path(path).exists() and not is_iod_csv(path):
        if not key:
            _fail(f"{Path(path).name} is not an IoD 2019 file: give --key (and --label) to import it as an indicator")

        def generic(session, p):
            return import_area_csv(session, p, key, label or key, not lower_is_more_need,
                                   code_column=code_column, value_column=value_column,
                                   vintage=int(vintage) if vintage else None)

        _exit_for(_run_import("indicators", None, path, generic))
        return

    def fn(session, p):
        report = import_iod(session, p, lad_codes=list(lad_codes) or None, progress=_progress)
        derive_lad_geometries(session, progress=_progress)
        return report

    _exit_for(_run_import("indicators", "iod2019", path, fn))


@import_.command("lookup")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--lad", "lad_codes", multiple=True, help="Only these local authorities (repeatable).")
def import_lookup_cmd(path, lad_codes):
    """ONS LSOA 2011 -> 2021 or LSOA 2021 -> ward 2024 lookup, the 2021 Rural-Urban Classification,
    Census 2021 population per LSOA 2021, or the Commons Library MSOA names (CSV as published; the
    table is told by its header)."""
    from assetmap.importers.geography import import_reference_table, lookup_kind

    if Path(path).exists():
        kind = lookup_kind(path)
        key = {"msoa-names": "hocl-msoa-names", "population": "census2021"}.get(kind, "ons-lookups")
    else:
        key = None

    def fn(session, p):
        return import_reference_table(session, p, lad_codes=list(lad_codes) or None, progress=_progress)

    _exit_for(_run_import("lookups", key, path, fn))


@import_.command("postcodes")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--areas", default=None, help="Postcode areas only, e.g. SY,TF,OL (default: all of GB).")
def import_postcodes_cmd(path, areas):
    """OS Code-Point Open zip, as OS ships it."""
    from assetmap.importers.postcodes import import_codepoint

    def fn(session, p):
        return import_codepoint(session, p, areas=areas.split(",") if areas else None, progress=_progress)

    _exit_for(_run_import("postcodes", "codepoint-open", path, fn))


@import_.command("places")
@click.argument("path", type=click.Path(path_type=Path))
def import_places_cmd(path):
    """OS Open Names populated places (towns, villages, hamlets, suburbs), zipped CSV as OS ships it."""
    from assetmap.importers.places import import_places

    def fn(session, p):
        return import_places(session, p, progress=_progress)

    _exit_for(_run_import("places", "os-open-names", path, fn))


@import_.command("assets")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", required=True, help="libraries, nhsbsa-pharmacies, epraccur, givefood, geojson, ...")
@click.option("--category", default=None, help="Asset type slug for formats that do not say (geojson).")
@click.option("--publish/--pending", default=True, help="Publish at once (official lists) or send to moderation.")
def import_assets_cmd(path, fmt, category, publish):
    """Community assets from an official list or a GeoJSON layer."""
    from assetmap.importers.assets import FORMATS, import_assets

    if fmt not in FORMATS:
        _fail(f"unknown format {fmt!r}; choose one of: {', '.join(sorted(FORMATS))}")

    def fn(session, p):
        return import_assets(session, p, fmt, category=category, publish=publish, progress=_progress)

    _exit_for(_run_import(f"assets:{fmt}", FORMATS[fmt].dataset_key, path, fn))


def _exit_for(report):
    if report is not None and not report.ok:
        sys.exit(1)


# --- demo and serving -----------------------------------------------------------------------
@main.command("demo")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Default: ASSETMAP_DATA_DIR or ../shared/data.")
@click.option("--scope", type=click.Choice(["england", "local"]), default="england",
              help="england: all LSOAs, GB postcodes and national lists (catchments cross borders); "
                   "local: Shropshire and Oldham only (quick).")
def demo(data_dir, scope):
    """Load the demo: real open data, with Shropshire and Oldham shown first."""
    from assetmap.importers.demo import load_demo

    _init()
    started = time.monotonic()
    for line in load_demo(database_url(), data_dir or config.data_dir(), scope=scope, progress=_progress):
        click.echo(line)
    click.echo(f"demo ready in {time.monotonic() - started:.0f} s")


@main.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--debug", is_flag=True)
@click.option("--production", is_flag=True, help="gunicorn, workers from the CPU count, JSON access logs.")
@click.option("--gunicorn", "use_gunicorn", is_flag=True,
              help="gunicorn (the production server) with development settings, as `make run` serves.")
def serve(host, port, debug, production, use_gunicorn):
    """Serve the web app (development server, or gunicorn with --production or --gunicorn)."""
    import os

    if production or use_gunicorn:
        if production:
            os.environ.setdefault("ASSETMAP_ENV", "production")
        elif not os.environ.get("SECRET_KEY"):
            # every worker must sign cookies with the same key: one kept in instance/ (0600)
            os.environ["SECRET_KEY"] = _development_secret_key()
        from assetmap.config import load_config

        load_config()  # refuse to start without SECRET_KEY, before forking workers
        os.environ["ASSETMAP_BIND"] = f"{host}:{port}"
        click.echo(f"assetmap at http://{host}:{port}/ (gunicorn; stop with Ctrl-C)")
        sys.stdout.flush()
        gunicorn = Path(sys.executable).with_name("gunicorn")
        os.execv(str(gunicorn),
                 [str(gunicorn), "--config", "python:assetmap.gunicorn_conf", "assetmap.web:create_app()"])
    from assetmap.web import create_app

    app = create_app()
    click.echo(f"assetmap at http://{host}:{port}/")
    app.run(host=host, port=port, debug=debug, use_reloader=False)


def _development_secret_key() -> str:
    import secrets

    path = config.instance_dir() / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip()


@main.command("backup")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="Then delete all but the newest N assetmap-*.dump files in the same folder.")
def backup_cmd(path, keep):
    """Dump the database (pg_dump custom format, mode 0600) to PATH (default
    instance/backups/assetmap-<UTC time>.dump). Reads DATABASE_URL (else the local cluster)."""
    from datetime import datetime

    from assetmap.db.backup import backup

    path = path or config.instance_dir() / "backups" / f"assetmap-{datetime.now(UTC):%Y%m%d-%H%M%S}.dump"
    written = backup(database_url(), path, keep=keep)
    click.echo(f"backed up to {written} ({written.stat().st_size:,} bytes)")


@main.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database's contents.")
def restore_cmd(path, yes):
    """Replace the database's contents with a backup made by `assetmap backup`, in one transaction.

    A running service can stay up: requests wait for the restore and then see the restored data,
    and /readyz answers 503 "restoring" meanwhile. Extensions (PostGIS) are left in place."""
    from assetmap.db.backup import restore

    if not yes:
        click.confirm(f"Replace everything in {_shown(database_url())} with {path}?", abort=True)
    started = time.monotonic()
    restore(database_url(), path)
    click.echo(f"restored {path} in {time.monotonic() - started:.1f} s")


# --- accounts and reminders (contribute/moderate) ----------------------------------------------
@main.group("user", cls=Group)
def user_group():
    """Accounts: volunteer, moderator, planner, admin."""


@user_group.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["volunteer", "moderator", "planner", "admin"]), default="moderator",
              show_default=True)
@click.option("--name", default=None)
@click.option("--password", default=None,
              help="Asked for (hidden) when not given; 12 characters or more, not a common one.")
def user_create(email, role, name, password):
    """Create an account (the first admin, say: --role admin)."""
    from assetmap.db.engine import session_scope
    from assetmap.db.users import create_user

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with session_scope(database_url()) as session:
        user = create_user(session, email, password, role, name)
    click.echo(f"created {user['role']} {user['email']} (id {user['id']})")


@main.group("remind", cls=Group)
def remind_group():
    """Reminder emails."""


@remind_group.command("stale")
@click.option("--dry-run", is_flag=True, help="Say who would get which reminder; send nothing.")
@click.option("--all-sources", is_flag=True,
              help="Also assets from imported lists (default: only those volunteers added through the website).")
def remind_stale(dry_run, all_sources):
    """Email the contacts of assets not checked for ASSETMAP_STALE_MONTHS months (first, reminder,
    urgent; ASSETMAP_REMINDER_INTERVAL_DAYS apart), one email an address listing all its assets,
    through the ASSETMAP_SMTP_* server, with links to ASSETMAP_BASE_URL (required unless
    --dry-run). One run at a time: a second run while one is sending says so and exits 0. Exit 1
    if some could not be sent."""
    import os

    from assetmap.db.engine import session_scope
    from assetmap.mail import MailSettings, send_stale_reminders

    if not dry_run and not os.environ.get("ASSETMAP_BASE_URL"):
        _fail("set ASSETMAP_BASE_URL to the site's public address (https://...): the emails link to it")
    settings = MailSettings.from_env()
    try:
        with session_scope(database_url()) as session:
            report = send_stale_reminders(session, settings, sources=None if all_sources else ["web"], dry_run=dry_run)
    except OSError as exc:
        _fail(f"cannot reach the mail server {settings.host}:{settings.port}: {exc}")
    if dry_run:
        for asset_id, stage, email in report.sent:
            click.echo(f"would send {stage} about asset {asset_id} to {email}")
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


# --- towns -----------------------------------------------------------------------------------
@import_.command("towns")
@click.argument("path", type=click.Path(path_type=Path), required=False)
def import_towns_cmd(path):
    """Towns as named sets of wards (default: the project's data/towns.json). Load the ward
    boundaries first; a town whose wards are missing is reported."""
    import json

    from assetmap.db.engine import session_scope
    from assetmap.domain.area_profile import read_towns
    from assetmap.importers.towns import load_towns

    path = path or config.PROJECT_DIR / "data" / "towns.json"
    try:
        towns = read_towns(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        _fail(f"{path}: {exc}")
    with session_scope(database_url()) as session:
        report = load_towns(session, towns, source=Path(path).name)
    click.echo(report.summary())
    _exit_for(report)


# --- gaps ------------------------------------------------------------------------------------
@main.group("compute", cls=Group)
def compute():
    """Derived results kept in the database."""


@compute.command("gaps")
@click.option("--lad", "lads", multiple=True,
              help="Local authority code, or 'all' for every loaded LSOA (repeatable; default: the default "
                   "areas, plus 'all' when England is loaded).")
@click.option("--category", "categories", multiple=True, help="Asset-type slug (repeatable; default: every type).")
@click.option("--indicator", default=None, help="Need indicator of the default runs (default: IMD 2025 rank where "
                                                "loaded, as on the gap page).")
@click.option("--group", default="all", show_default=True, help="Population group: all, 0-15, 16-59, 60+.")
@click.option("--decay", default="gaussian", show_default=True, help="gaussian (E2SFCA) or none (2SFCA).")
@click.option("--radius", "radius_m", type=float, default=None, help="Catchment in metres (default: the category's).")
def compute_gaps_cmd(lads, categories, indicator, group, decay, radius_m):
    """Recompute gap scores: every stored run (of these areas and categories) and the default ones.

    Refreshes the LSOA population points and tile shapes first (where boundaries changed), then
    computes each run in its own transaction.
    """
    from assetmap.db import area_geometry, gap_runs
    from assetmap.db.engine import session_scope

    url = database_url()
    started = time.monotonic()
    with session_scope(url) as session:
        done = area_geometry.refresh_area_geometry(session, check_changed=True)
        click.echo(f"LSOA points refreshed: {done['points']}, tile shapes: {done['tiles']}")
        todo = gap_runs.runs_to_compute(session, lads=lads, categories=categories,
                                        default_lads=config.load_config()["DEFAULT_AREAS"], indicator=indicator,
                                        group=group, decay=decay, radius_m=radius_m)
    bar = _progress(total=len(todo), desc="gap runs")
    for params in todo:
        with session_scope(url) as session:
            run = gap_runs.ensure_run(session, params, refresh=True)
        bar.set_postfix_str(f"{params.lad} {params.category}", refresh=False)
        bar.update(1)
        summary = run["summary"]
        if not sys.stderr.isatty():
            click.echo(f"  {params.lad} {params.category} r={params.radius_m:g} {params.decay}: "
                       f"{summary['areas']} areas, {summary['supply']} assets counted")
    bar.close()
    click.echo(f"{len(todo)} gap runs computed in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
