# Sourced after lib.sh by the tests that run on the PostgreSQL store: a schema of its own in the
# database SPOKEFLOW_TEST_PG_URL names (scripts/test.sh starts a throwaway cluster and sets it),
# SPOKEFLOW_STORE pointing at it, and pg_cleanup to drop it. Without the variable the test FAILS
# saying so: it never skips.
# With PG_OWN_CLUSTER=1 the test starts a cluster of its own instead (scripts/pg-cluster.sh, stopped
# and removed by pg_cleanup), for tests that restart the server: the shared one serves other tests
# running beside them. pg_restart restarts it.
PG_CLUSTER_DIR=
PG_SCHEMA="it_$(date +%s%N)_$$"
# Installed first: a cluster started here is stopped however the test ends.
pg_cleanup() {
  if [ -n "$PG_CLUSTER_DIR" ]; then
    bash "$SRC_DIR/scripts/pg-cluster.sh" stop "$PG_CLUSTER_DIR" || true
  else
    pg_sql "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" > /dev/null 2>&1 || true
  fi
}
trap 'pg_cleanup; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
if [ -n "${PG_OWN_CLUSTER:-}" ]; then
  # Its own folder under TMPDIR, not inside WORK: as root the server runs as `postgres`, which
  # cannot enter WORK (mode 700).
  PG_CLUSTER_DIR=$(mktemp -u "${TMPDIR:-/tmp}/spokeflow-it-pg.XXXXXX")
  if ! SPOKEFLOW_TEST_PG_URL=$(bash "$SRC_DIR/scripts/pg-cluster.sh" start "$PG_CLUSTER_DIR"); then
    echo "FAIL: could not start a PostgreSQL cluster of the test's own"
    exit 1
  fi
  export SPOKEFLOW_TEST_PG_URL
fi
pg_restart() { bash "$SRC_DIR/scripts/pg-cluster.sh" restart "$PG_CLUSTER_DIR"; }
if [ -z "${SPOKEFLOW_TEST_PG_URL:-}" ]; then
  echo "FAIL: SPOKEFLOW_TEST_PG_URL is not set: the PostgreSQL tests need a server (scripts/test.sh starts one;" \
       "or: export SPOKEFLOW_TEST_PG_URL=\$(scripts/pg-cluster.sh start DIR))"
  exit 1
fi
command -v psql > /dev/null || { echo "FAIL: psql is missing (Debian's postgresql-client)"; exit 1; }
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
