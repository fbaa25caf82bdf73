#!/usr/bin/env bash
# Start a local PostgreSQL server for the result-store tests, installing it if needed.
#
# Idempotent: safe to run when PostgreSQL is already installed, running, or set up. Leaves a server on
# 127.0.0.1:${CRSIM_PG_PORT:-5432} with role crsim (password crsim) owning database crsim_test, and prints
# the URL the tests read from CRSIM_TEST_POSTGRES_URL:
#
#   export CRSIM_TEST_POSTGRES_URL=$(bash .ci/start_postgres.sh | tail -n 1)
#
# Needs root (apt-get, and pg_ctlcluster switches to the postgres user itself).
set -euo pipefail

PORT="${CRSIM_PG_PORT:-5432}"
ROLE=crsim
PASSWORD=crsim
DATABASE=crsim_test

log() { echo "start_postgres: $*" >&2; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing PostgreSQL from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi

# The newest installed server version, and a cluster of it on our port (create one if none).
VERSION=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
CLUSTER=$(pg_lsclusters -h | awk -v v="$VERSION" -v p="$PORT" '$1 == v && $3 == p {print $2; exit}')
if [ -z "$CLUSTER" ]; then
    CLUSTER=crsim
    log "creating cluster $VERSION/$CLUSTER on port $PORT"
    pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >&2
fi

STATUS=$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $4}')
if [ "$STATUS" != "online" ]; then
    log "starting cluster $VERSION/$CLUSTER"
    # The socket directory is on tmpfs on some machines and vanishes on reboot.
    install -d -o postgres -g postgres -m 2775 /var/run/postgresql
    pg_ctlcluster "$VERSION" "$CLUSTER" start -- -o "-c listen_addresses=127.0.0.1" >&2 \
        || pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$PORT"; then break; fi
    sleep 0.5
done
pg_isready -h 127.0.0.1 -p "$PORT" >&2

psql_admin() { su postgres -c "psql -X -q -v ON_ERROR_STOP=1 -p $PORT $*"; }

if ! psql_admin "-tAc \"SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'\"" | grep -q 1; then
    log "creating role $ROLE"
    psql_admin "-c \"CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'\""
fi
if ! psql_admin "-tAc \"SELECT 1 FROM pg_database WHERE datname = '$DATABASE'\"" | grep -q 1; then
    log "creating database $DATABASE"
    psql_admin "-c \"CREATE DATABASE $DATABASE OWNER $ROLE\""
fi

echo "postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"
