#!/usr/bin/env bash
# Sets up everything assetmap needs on this machine, idempotently:
#   - PostgreSQL + PostGIS from Debian's packages when they are missing (needs root)
#   - Redis (redis-server) from Debian's packages when missing: shared rate limits (needs root)
#   - Chromium for the browser tests (with --browser)
#   - a virtualenv in .venv with the package and its test extras
#   - the map front-end files (Leaflet and plugins) from the npm registry into static/node_modules
# A second run only checks, so it is fast.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "error: need root to run: $*" >&2; exit 1; fi
}

apt_updated=0
apt_install() {
    if [ $apt_updated = 0 ]; then
        say "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    say "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- PostgreSQL + PostGIS (skipped when DATABASE_URL points at another server) --------------
if [ -z "${DATABASE_URL:-}" ]; then
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$pg_bin" ]; then
        apt_install postgresql postgresql-contrib
        pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    pg_major=$(basename "$(dirname "$pg_bin")")
    if ! ls /usr/share/postgresql/"$pg_major"/extension/postgis.control >/dev/null 2>&1; then
        apt_install "postgresql-$pg_major-postgis-3"
    fi
fi

# --- Redis (skipped when REDIS_URL points at another server) ----------------------------------
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ]; then
    apt_install redis-server
fi

# --- Chromium for the browser tests ----------------------------------------------------------
if [ $want_browser = 1 ] && ! command -v chromium >/dev/null; then
    apt_install chromium chromium-driver fonts-dejavu-core
fi

# --- Python virtualenv -----------------------------------------------------------------------
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    say "creating .venv"
    "$PY" -m venv .venv
fi
stamp=.venv/.assetmap-installed
if [ ! -f $stamp ] || [ pyproject.toml -nt $stamp ]; then
    say "installing assetmap into .venv"
    # pip's notes about package-index mirrors this machine lacks are noise; errors still show.
    .venv/bin/pip install -q --upgrade pip 2>&1 | grep -v "is ignored: it is neither" || true
    .venv/bin/pip install -q -e '.[test]' 2>&1 | grep -v -e "is ignored: it is neither" -e BuildBackendWarning || true
    .venv/bin/python -c "import assetmap, flask, geoalchemy2, folium" # fail here if the install did
    touch $stamp
fi

# --- front-end files (served by the app itself, so maps work offline and under a strict CSP) ---
if [ ! -f static/node_modules/.package-lock.json ] || [ static/package.json -nt static/node_modules/.package-lock.json ]; then
    if ! command -v npm >/dev/null; then apt_install nodejs npm; fi
    say "installing map front-end packages (npm)"
    (cd static && npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error)
fi
say "set-up complete"
