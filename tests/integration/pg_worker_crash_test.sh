#!/usr/bin/env bash
# worker_crash_test.sh on a PostgreSQL store (issue 19): 3 workers on one database, one killed
# with SIGKILL every 0.5-2 s and started again; okta-sim's request log as the ledger.
# Half worker_crash_test.sh's size by default (CI's 40 minutes hold both at ASan speed); the
# full size: CRASH_EXECUTIONS=200 CRASH_KILLS=20.
export CRASH_ON_PG=1 CRASH_EXECUTIONS=${CRASH_EXECUTIONS:-100} CRASH_KILLS=${CRASH_KILLS:-10}
exec bash "$(dirname "$0")/worker_crash_test.sh"
