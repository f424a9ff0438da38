# Sourced after lib.sh by the tests that run on the PostgreSQL store: a schema of its own in the
# database SPOKEFLOW_TEST_PG_URL names (scripts/test.sh starts a throwaway cluster and sets it),
# SPOKEFLOW_STORE pointing at it, and pg_cleanup to drop it. Without the variable the test FAILS
# saying so: it never skips.
if [ -z "${SPOKEFLOW_TEST_PG_URL:-}" ]; then
  echo "FAIL: SPOKEFLOW_TEST_PG_URL is not set: the PostgreSQL tests need a server (scripts/test.sh starts one;" \
       "or: export SPOKEFLOW_TEST_PG_URL=\$(scripts/pg-cluster.sh start DIR))"
  exit 1
fi
command -v psql > /dev/null || { echo "FAIL: psql is missing (Debian's postgresql-client)"; exit 1; }
PG_SCHEMA="it_$(date +%s%N)_$$"
pg_sql() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$SPOKEFLOW_TEST_PG_URL" -c "$1"; }
pg_sql "CREATE SCHEMA $PG_SCHEMA" > /dev/null
case "$SPOKEFLOW_TEST_PG_URL" in
  *\?*) PG_STORE="$SPOKEFLOW_TEST_PG_URL&options=-csearch_path%3D$PG_SCHEMA" ;;
  *) PG_STORE="$SPOKEFLOW_TEST_PG_URL?options=-csearch_path%3D$PG_SCHEMA" ;;
esac
export SPOKEFLOW_STORE="$PG_STORE"
# The URL's password: it must appear in nothing the tests capture.
PG_PASSWORD=$(printf '%s' "$SPOKEFLOW_TEST_PG_URL" | sed -n 's|^[a-z]*://[^:/@]*:\([^@]*\)@.*|\1|p')
# A query in the test's schema.
pg_in_schema() { pg_sql "SET search_path TO $PG_SCHEMA; $1"; }
pg_cleanup() { pg_sql "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" > /dev/null 2>&1 || true; }
trap 'pg_cleanup; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
