#!/usr/bin/env bash
# worker_crash_test.sh on a PostgreSQL store (issue 19): 3 workers on one database, one killed
# with SIGKILL every 0.5-2 s and started again; okta-sim's request log as the ledger.
export CRASH_ON_PG=1
exec bash "$(dirname "$0")/worker_crash_test.sh"
