#!/usr/bin/env bash
# Idempotent set-up for the test suite on Debian 12: system packages, PostgreSQL 15 with
# pgvector (built from Debian's newer source package: Debian 12 ships none), Chromium,
# npm packages. Each step is a no-op when its result is already present.
# Needs root (or sudo) for apt. Environment:
#   FM_TEST_PG_URL   the test database (default postgres://fm:fm@127.0.0.1:5432/fm_test)
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
step() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

pkgs=(chromium bubblewrap util-linux procps g++ make python3 python3-numpy python3-scipy python3-sklearn
      python3-torch valgrind postgresql postgresql-server-dev-15 build-essential)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
if [ ! -f /usr/share/postgresql/15/extension/vector.control ]; then
  step "building pgvector from Debian's source package"
  work=$(mktemp -d)
  mkdir -p "$work/lists/partial" "$work/sources.list.d"
  # the machine's own Debian mirror, asked for the newer release's source package
  mirror=$( (grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'; grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}'; true) | grep -v security | grep '/debian/\?$' | head -n 1)
  [ -n "$mirror" ] || { echo "no Debian mirror found in the apt sources" >&2; exit 1; }
  echo "deb-src $mirror trixie main" > "$work/sources.list.d/trixie-src.list"
  opts=(-o APT::Sandbox::User=root -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$work/sources.list.d" -o Dir::State::Lists="$work/lists")
  $SUDO apt-get "${opts[@]}" update -qq
  (cd "$work" && $SUDO apt-get "${opts[@]}" source --download-only pgvector >/dev/null)
  tar -xzf "$work"/pgvector_*.orig.tar.gz -C "$work"
  make -s -C "$work"/pgvector-*/ PG_CONFIG=$PG_CONFIG >/dev/null
  $SUDO make -s -C "$work"/pgvector-*/ PG_CONFIG=$PG_CONFIG install >/dev/null
  rm -rf "$work"
fi

url=${FM_TEST_PG_URL:-postgres://fm:fm@127.0.0.1:5432/fm_test}
pguser=$(node -e 'console.log(decodeURIComponent(new URL(process.argv[1]).username))' "$url")
pgpass=$(node -e 'console.log(decodeURIComponent(new URL(process.argv[1]).password))' "$url")
pgdb=$(node -e 'console.log(new URL(process.argv[1]).pathname.slice(1))' "$url")
pgport=$(node -e 'console.log(new URL(process.argv[1]).port || 5432)' "$url")
# the cluster listens where FM_TEST_PG_URL points (another PostgreSQL may hold 5432, e.g. the host of a chroot)
if [ "$(pg_conftool 15 main show port 2>/dev/null | sed 's/.*= *//')" != "$pgport" ]; then
  step "PostgreSQL 15 on port $pgport (FM_TEST_PG_URL)"
  $SUDO pg_conftool 15 main set port "$pgport"
  ! pg_ctlcluster 15 main status >/dev/null 2>&1 || $SUDO pg_ctlcluster --skip-systemctl-redirect 15 main restart
fi
# an upgrade of the server's package while it ran (postgresql-server-dev-15 above may pull one) leaves
# the old binary loading the new libraries: "undefined symbol" at the first plpgsql function
datadir=$(pg_lsclusters -h 15 main 2>/dev/null | awk '{print $6}')
pid=$(head -n 1 "$datadir/postmaster.pid" 2>/dev/null || true)
if [ -n "$pid" ] && $SUDO readlink "/proc/$pid/exe" 2>/dev/null | grep -q ' (deleted)$'; then
  step "restarting PostgreSQL 15 (its package was upgraded while it ran)"
  $SUDO pg_ctlcluster --skip-systemctl-redirect 15 main restart
fi
if ! pg_ctlcluster 15 main status >/dev/null 2>&1; then
  step "starting PostgreSQL 15"
  $SUDO pg_ctlcluster --skip-systemctl-redirect 15 main start
fi
psql_su() { if [ "$(id -u)" = 0 ]; then su postgres -c "psql -p $pgport -qAtX -v ON_ERROR_STOP=1 $*"; else sudo -u postgres psql -p "$pgport" -qAtX -v ON_ERROR_STOP=1 "$@"; fi; }
if [ "$(psql_su "-c \"SELECT 1 FROM pg_roles WHERE rolname='$pguser'\"")" != 1 ]; then
  step "creating database role $pguser"
  psql_su "-c \"CREATE ROLE \\\"$pguser\\\" LOGIN CREATEDB CREATEROLE PASSWORD '$pgpass'\""
fi
# tests drop their throw-away databases WITH (FORCE): that may end other roles' leftover sessions
psql_su "-c 'GRANT pg_signal_backend TO \"$pguser\"'"
if [ "$(psql_su "-c \"SELECT 1 FROM pg_database WHERE datname='$pgdb'\"")" != 1 ]; then
  psql_su "-c \"CREATE DATABASE \\\"$pgdb\\\" OWNER \\\"$pguser\\\"\""
fi
# pgvector's extension is not trusted: create it as the superuser in the template so test databases have it
psql_su "-d template1 -c 'CREATE EXTENSION IF NOT EXISTS vector'"
psql_su "-d $pgdb -c 'CREATE EXTENSION IF NOT EXISTS vector'"

if [ ! -d node_modules/.bin ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing npm packages"
  npm ci --no-audit --no-fund
fi
# missing, or older than the schema (a pull that changed it, with no install since)
if [ ! -f server/generated/prisma/client.ts ] || [ prisma/schema.prisma -nt server/generated/prisma/client.ts ]; then
  node scripts/prisma-generate.mjs
fi
step "ready: postgres $(ls /usr/share/postgresql/15/extension/vector--*.sql | sed -n 's/.*vector--\([0-9.]*\)\.sql/\1/p' | sort -V | tail -1 | sed 's/^/pgvector /'), $(/usr/bin/chromium --version 2>/dev/null | head -1)"
