#!/bin/sh
# Creates Temporal's two PostgreSQL databases and brings their schemas to the image's version.
# Idempotent: runs on every `docker compose up` (admin-tools image, job temporal-schema).
set -eu
: "${SQL_HOST:?}" "${SQL_USER:?}" "${SQL_PASSWORD:?}"
PORT="${SQL_PORT:-5432}"
SCHEMA=/etc/temporal/schema/postgresql/v12
sql() { temporal-sql-tool --plugin postgres12 --ep "$SQL_HOST" -p "$PORT" -u "$SQL_USER" --pw "$SQL_PASSWORD" "$@"; }

# compose starts this job once PostgreSQL's health check (pg_isready) passes.
for db in temporal temporal_visibility; do
  sql --db "$db" create-database || true # already there on later runs
  sql --db "$db" setup-schema -v 0.0 || true # only the first time: the version table exists later
done
sql --db temporal update-schema -d "$SCHEMA/temporal/versioned"
sql --db temporal_visibility update-schema -d "$SCHEMA/visibility/versioned"
echo "Temporal schemas are up to date"
