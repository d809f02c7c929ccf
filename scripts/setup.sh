#!/usr/bin/env bash
# Install what is missing, on a fresh Debian/Ubuntu machine with nothing but Python and
# root/sudo: PostgreSQL + PostGIS from the OS packages (unless HARDENING_DATABASE_URL names a
# server), the Python environment in .venv, and with --browser Debian's chromium for browser tests
# and python3-qgis for the QGIS test.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=false
[ "${1:-}" = "--browser" ] && want_browser=true

if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO=""; fi
apt_updated=false
apt_install() {
    if ! command -v apt-get >/dev/null; then
        echo "error: cannot install $* here (no apt-get). On macOS: brew install postgis;" \
             "or set HARDENING_DATABASE_URL to an existing PostGIS server." >&2
        exit 1
    fi
    if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
        echo "error: need root or sudo to install: $*" >&2
        exit 1
    fi
    if ! $apt_updated; then
        $SUDO apt-get update -q
        apt_updated=true
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@"
}

newest_pg() { ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1; }

if [ -z "${HARDENING_DATABASE_URL:-}" ]; then
    if [ -z "$(newest_pg)" ] || [ ! -x "/usr/lib/postgresql/$(newest_pg)/bin/initdb" ]; then
        echo "== installing PostgreSQL" >&2
        apt_install postgresql
    fi
    version="$(newest_pg)"
    if [ ! -f "/usr/share/postgresql/$version/extension/postgis.control" ]; then
        echo "== installing PostGIS for PostgreSQL $version" >&2
        apt_install "postgresql-$version-postgis-3"
    fi
fi

if $want_browser && [ ! -x /usr/bin/chromium ]; then
    echo "== installing chromium (browser tests)" >&2
    apt_install chromium
fi

# Debian's QGIS for the system Python (tests/test_qgis.py opens generated projects with it).
if $want_browser && ! /usr/bin/python3 -c 'import qgis.core' 2>/dev/null; then
    echo "== installing QGIS (python3-qgis, the QGIS test)" >&2
    apt_install python3-qgis
fi

# Python environment: reinstalled only when pyproject.toml changes.
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    apt_install python3-venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "== installing the Python environment (.venv)" >&2
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    touch "$stamp"
fi
