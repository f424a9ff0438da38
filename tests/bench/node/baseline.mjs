// The Okta Node.js SDK baseline for tests/bench/run.sh: the same workloads spokeflow runs, written
// the way an SDK user would (default client, default 429 retry policy), against the same okta-sim.
//   node baseline.mjs throughput BASE_URL TOKEN GROUP_ID N CONCURRENCY
//   node baseline.mjs pacing BASE_URL TOKEN CONCURRENCY
// Prints one JSON line on stdout; the first few failures go to stderr so a bad run explains itself.
import okta from '@okta/okta-sdk-nodejs';

const [mode, baseUrl, token, ...rest] = process.argv.slice(2);
if (!['throughput', 'pacing'].includes(mode) || !baseUrl || !token) {
  console.error('usage: node baseline.mjs throughput BASE_URL TOKEN GROUP_ID N CONCURRENCY\n' +
                '       node baseline.mjs pacing BASE_URL TOKEN CONCURRENCY');
  process.exit(2);
}

// okta-sdk-nodejs 8.x has no HTTPS-only check on orgUrl (older majors needed
// testing.disableHttpsCheck), so a plain loopback http:// URL is accepted as is.
// No requestExecutor is passed: the default one retries a 429 up to 2 times, waiting for
// X-Rate-Limit-Reset, which is what a user of the SDK gets.
const client = new okta.Client({ orgUrl: baseUrl, token });

let reported = 0;
function reportFailure(what, err) {
  if (reported++ < 5) {
    const status = err && (err.status || err.code) ? ` (${err.status || err.code})` : '';
    console.error(`baseline: ${what} failed${status}: ${err && err.message ? err.message : err}`);
  }
}

// Runs task(item) for every item an (async) iterable yields, at most `limit` at a time; the
// iterable is pulled only when a slot is free, so a paged listing streams like a for_each source.
async function runLimited(items, limit, task) {
  const inFlight = new Set();
  for await (const item of items) {
    while (inFlight.size >= limit) await Promise.race(inFlight);
    const p = task(item).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
}

function percentile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] : null;
}

const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function throughput(groupId, n, concurrency) {
  const latencies = [];
  let failed = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const ns = Array.from({ length: n }, (_, i) => i + 1);
  await runLimited(ns, concurrency, async (i) => {
    const s = performance.now();
    try {
      const login = `node${i}@example.com`;
      const user = await client.userApi.createUser({
        body: { profile: { login, email: login, firstName: 'B', lastName: `N${i}` } },
        activate: false,
      });
      await client.groupApi.assignUserToGroup({ groupId, userId: user.id });
      await client.userApi.activateUser({ userId: user.id, sendEmail: false });
      latencies.push(performance.now() - s);
    } catch (err) {
      failed++;
      reportFailure(`execution ${i}`, err);
    }
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  return {
    mode: 'throughput', n, concurrency, ms: Math.round(ms), per_s: round(n * 1000 / ms),
    p50_ms: round(percentile(latencies, 0.5) ?? NaN), p99_ms: round(percentile(latencies, 0.99) ?? NaN),
    cpu_us_per_exec: Math.round((cpu.user + cpu.system) / n), failed,
  };
}

async function pacing(concurrency) {
  let n = 0;
  let failed = 0;
  const t0 = performance.now();
  // The SDK's Collection pages through Link headers; iterating it while activating mirrors the
  // spokeflow flow, which streams okta.list_users into its for_each.
  const users = await client.userApi.listUsers({ search: 'status eq "STAGED"' });
  await runLimited(users, concurrency, async (user) => {
    n++;
    try {
      await client.userApi.activateUser({ userId: user.id, sendEmail: false });
    } catch (err) {
      failed++;
      reportFailure(`activating ${user.id}`, err);
    }
  });
  const ms = performance.now() - t0;
  return { mode: 'pacing', n, ms: Math.round(ms), per_s: round(n * 1000 / ms), failed };
}

const positiveInt = (s, what) => {
  const v = Number.parseInt(s, 10);
  if (!(v > 0)) { console.error(`baseline: ${what} must be a positive integer, got ${s}`); process.exit(2); }
  return v;
};

try {
  const result = mode === 'throughput'
    ? await throughput(rest[0], positiveInt(rest[1], 'N'), positiveInt(rest[2], 'CONCURRENCY'))
    : await pacing(positiveInt(rest[0], 'CONCURRENCY'));
  console.log(JSON.stringify(result));
} catch (err) {
  reportFailure(mode, err);
  process.exit(1);
}
