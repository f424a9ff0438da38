#!/usr/bin/env bash
# worker_crash_test.sh on a PostgreSQL store: issue 19's chaos test. 3 workers on one database,
# one killed with SIGKILL every 0.5-2 s and started again, and PostgreSQL itself restarted once
# (pg_ctl restart -m fast) when a third of the executions have succeeded, with the workers
# running; okta-sim's request log as the ledger. It runs in a cluster of its own
# (scripts/pg-cluster.sh, removed on exit): a restart of the shared one would break the tests
# running beside it.
# Half worker_crash_test.sh's size by default (CI's 40 minutes hold both at ASan speed); the
# issue's full size: CRASH_EXECUTIONS=300 CRASH_KILLS=30 (30 kills at 0.5-2 s apart, about 40 s
# of killing; the numbers of a run are in docs/SCALE-OUT.md, "When something fails").
export CRASH_ON_PG=1 PG_OWN_CLUSTER=1 CRASH_PG_RESTART=1
export CRASH_EXECUTIONS=${CRASH_EXECUTIONS:-100} CRASH_KILLS=${CRASH_KILLS:-10}
exec bash "$(dirname "$0")/worker_crash_test.sh"
