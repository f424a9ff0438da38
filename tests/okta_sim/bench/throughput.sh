#!/usr/bin/env bash
# Throughput of okta-sim on loopback, measured two ways per case:
#   wall    requests/s as wrk sees them (keep-alive; depends on the machine's loopback and scheduler)
#   cpu     requests per CPU-second of the okta-sim process (utime+stime from /proc/PID/stat before
#           and after the run): the simulator's capacity on one core, robust on a busy machine.
# Also printed: the sim's and wrk's CPU seconds per run, and non-2xx answers / socket errors (expected: 0).
# Builds nothing. The sim is pinned to one core and wrk to another (taskset); loopback only.
#
# usage: throughput.sh OKTA_SIM [options]
#   --cases "get_id get_login suspend_unsuspend deactivate_activate reset_password health"
#   --depth "1 16"      pipelining depths to run (1 = one request per write)
#   --repeat 3          runs per case and depth
#   --duration 5        seconds per run
#   --connections 32    wrk connections (one wrk thread)
#   --users 4000        seeded users the scripts rotate over (must exceed connections x depth)
#   --sim-cpu 0 --wrk-cpu 1
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
sim=${1:?usage: throughput.sh OKTA_SIM [options]}
shift
cases="get_id get_login suspend_unsuspend deactivate_activate reset_password health"
depths="1 16"
repeat=3
duration=5
conns=32
users=4000
sim_cpu=0
wrk_cpu=1
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) cases=$2; shift 2 ;;
    --depth) depths=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) conns=$2; shift 2 ;;
    --users) users=$2; shift 2 ;;
    --sim-cpu) sim_cpu=$2; shift 2 ;;
    --wrk-cpu) wrk_cpu=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk not found (Debian: apt-get install wrk)" >&2; exit 2; }
for d in $depths; do
  if [ $((conns * d)) -ge "$users" ]; then
    echo "--users ($users) must exceed connections x depth ($((conns * d))) for the lifecycle cases" >&2
    exit 2
  fi
done

tmp=$(mktemp -d)
sim_pid=
cleanup() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

token=bench-token
{
  echo "users:"
  for ((k = 0; k < users; k++)); do
    printf '  - {id: 00ubench%012d, login: bench%05d@example.com, firstName: Bench, lastName: U%05d, password: Bench-Passw0rd-1}\n' "$k" "$k" "$k"
  done
} >"$tmp/seed.yaml"
# Rate limits and the concurrency cap out of the way: this measures the work, not the limiter.
cat >"$tmp/config.yaml" <<CFG
rate_limits:
  window_seconds: 60
  concurrency: 100000
  default: 100000000
  buckets: {users: 100000000, user_get: 100000000, user: 100000000, default: 100000000}
CFG

taskset -c "$sim_cpu" "$sim" --port 0 --api-token "$token" --seed "$tmp/seed.yaml" --config "$tmp/config.yaml" \
  >"$tmp/sim.out" 2>"$tmp/sim.err" &
sim_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$tmp/sim.out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$tmp/sim.out")
[ -n "$url" ] || { echo "okta-sim did not start:" >&2; cat "$tmp/sim.err" >&2; exit 1; }

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$sim_pid/stat"; }

echo "# okta-sim $url, $users users, wrk -t1 -c$conns -d${duration}s; sim on cpu $sim_cpu, wrk on cpu $wrk_cpu; $(date -u +%FT%TZ)"
printf '%-20s %5s %3s %10s %9s %8s %8s %11s %7s\n' case depth run "req/s" requests "sim-cpu" "wrk-cpu" "req/cpu-s" errors
summary=()
for c in $cases; do
  for d in $depths; do
    walls=() cpus=()
    for ((r = 1; r <= repeat; r++)); do
      curl -fsS -X POST "$url/__sim/reset" >/dev/null  # every run starts from the seeded org
      before=$(cpu_ticks)
      TIMEFORMAT='%U %S'
      { time taskset -c "$wrk_cpu" wrk -t1 -c"$conns" -d"${duration}s" -s "$here/users.lua" "$url" -- "$token" "$c" "$users" "$d" \
          >"$tmp/wrk.out" 2>&1; } 2>"$tmp/wrk.time"
      after=$(cpu_ticks)
      wrk_cpu_s=$(awk '{printf "%.2f", $1 + $2}' "$tmp/wrk.time")
      n=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$tmp/wrk.out")
      rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/wrk.out")
      if [ -z "$n" ] || [ -z "$rps" ]; then
        echo "wrk failed for $c (depth $d):" >&2
        cat "$tmp/wrk.out" >&2
        exit 1
      fi
      bad=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$tmp/wrk.out")
      sock=$(sed -n 's/^ *Socket errors: *\(.*\)/\1/p' "$tmp/wrk.out")
      errs="${bad:-0}${sock:+ socket: $sock}"
      cpu_s=$(awk -v a="$before" -v b="$after" -v t="$ticks" 'BEGIN{printf "%.2f", (b - a) / t}')
      per_cpu=$(awk -v n="$n" -v a="$before" -v b="$after" -v t="$ticks" 'BEGIN{ if (b > a) printf "%.0f", n * t / (b - a); else print "n/a" }')
      printf '%-20s %5s %3s %10.0f %9s %8s %8s %11s %7s\n' "$c" "$d" "$r" "$rps" "$n" "$cpu_s" "$wrk_cpu_s" "$per_cpu" "$errs"
      walls+=("$rps")
      cpus+=("$per_cpu")
    done
    range() { printf '%s\n' "$@" | sort -n | awk 'NR==1{lo=$1} {hi=$1} END{printf "%.0f-%.0f", lo, hi}'; }
    summary+=("$(printf '%-20s %5s  req/s %-13s  req/cpu-s %s' "$c" "$d" "$(range "${walls[@]}")" "$(range "${cpus[@]}")")")
  done
done
echo "# ranges over $repeat runs"
printf '%s\n' "${summary[@]}"
