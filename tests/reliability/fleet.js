'use strict';
// make fleet: many akvd processes against one Key Vault double that
// throttles like Key Vault, through a 30-second outage and its recovery.
//
// FLEET_SIZE instances (default 200) of the release build (build/akvd, at
// log level warn), each with its own output directory (tmpfs) and the same
// FLEET_SECRETS secrets (default 20: replicas of one app), polling every
// FLEET_INTERVAL seconds (default 20).  The vault serves at most
// FLEET_BUDGET requests per sliding 10 s (default: half-way between what
// the fleet asks per 10 s at its steady rate and what it asks when every
// instance asks at once, and at least 1.25 times the steady rate; 3,000 for
// 200 × 20 secrets every 20 s: the start-up herd is throttled, a steady
// fleet is not) and answers 429 Throttled
// with Retry-After above it, as Key Vault does above its 4,000 GETs per
// 10 s.  Then every request gets 503 for FLEET_OUTAGE seconds (default 30;
// FLEET_OUTAGE_KIND=reset: connections are reset instead), and every secret
// is rotated in the middle of it.  The instances start at once (a rollout,
// a node restart); FLEET_STAGGER=S spreads their starts over S seconds.
// Measured:
//
//   - the peak number of requests arriving in any 10 s of the recovery,
//     against the budget (target: not above it: jittered backoff spreads
//     the herd);
//   - the time from the end of the outage until each instance's files hold
//     the rotated values (target: every instance within the retry cap,
//     max(30 s, min(interval, 5 min)), plus one interval and its 10%
//     jitter);
//   - the 429s served (start-up, recovery), RSS per instance (median, max).
//
// Prints the report and writes it to build/fleet.json (FLEET_JSON).  Exits
// 1 when a target is missed or an instance fails, unless FLEET_STRICT=0
// (make bench: figures only).  Every akvd is stopped on any way out.

const fs = require('node:fs');
const path = require('node:path');
const { startDoubles } = require('../fakes');
const L = require('./lib');

const num = (name, def) => {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: not a positive number: ${v}`);
  return n;
};

const SIZE = num('FLEET_SIZE', 200);
const SECRETS = num('FLEET_SECRETS', 20);
const INTERVAL = num('FLEET_INTERVAL', 20);
// What the fleet asks per 10 s at its steady rate, and when every instance
// asks at once.
const STEADY = (SIZE * SECRETS * 10) / INTERVAL;
const HERD = SIZE * SECRETS;
const BUDGET = num('FLEET_BUDGET', Math.max(1, Math.round(Math.max(1.25 * STEADY, (STEADY + HERD) / 2))));
const OUTAGE = num('FLEET_OUTAGE', 30);
const KIND = process.env.FLEET_OUTAGE_KIND || '503';
const STAGGER = process.env.FLEET_STAGGER ? num('FLEET_STAGGER', 0) : 0;
const STRICT = process.env.FLEET_STRICT !== '0';
const JSON_OUT = process.env.FLEET_JSON || path.join(L.ROOT, 'build', 'fleet.json');
const WINDOW = 10000;
const RETRY_CAP = Math.max(30, Math.min(INTERVAL, 300));
const FRESH_TARGET = RETRY_CAP + INTERVAL * 1.1;

const secretName = (j) => `fleet-secret-${j}`;
const valueOf = (round, j) => `round-${round}-secret-${j}-`.padEnd(64, 'x');

function log(msg) {
  const t = new Date().toISOString().slice(11, 19);
  console.log(`[${t}] ${msg}`);
}

// Which instances hold every value of ${round}: checks the ..data link
// first and reads the files only when it moved.
class Watcher {
  constructor(dirs) {
    this.dirs = dirs;
    this.round = 0;
    this.seen = dirs.map(() => null);
    this.freshAt = dirs.map(() => null);
  }

  expect(round) {
    this.round = round;
    this.seen = this.dirs.map(() => null);
    this.freshAt = this.dirs.map(() => null);
  }

  check(now) {
    let pending = 0;
    for (let i = 0; i < this.dirs.length; i++) {
      if (this.freshAt[i] !== null) continue;
      let link;
      try {
        link = fs.readlinkSync(path.join(this.dirs[i], '..data'));
      } catch (e) {
        pending++;
        continue;
      }
      if (link === this.seen[i]) {
        pending++;
        continue;
      }
      this.seen[i] = link;
      let ok = true;
      for (let j = 0; j < SECRETS && ok; j++) {
        try {
          ok = fs.readFileSync(path.join(this.dirs[i], link, secretName(j)), 'utf8') ===
            valueOf(this.round, j);
        } catch (e) {
          ok = false;
        }
      }
      if (ok) this.freshAt[i] = now;
      else pending++;
    }
    return pending;
  }

  // Poll until every instance is fresh or ${deadline}; resolves to the
  // number still pending.
  async until(deadline, procs) {
    for (;;) {
      const pending = this.check(Date.now());
      if (pending === 0 || Date.now() >= deadline) return pending;
      const dead = procs.filter((p) => p.exitInfo);
      if (dead.length > 0) throw new Error(`${dead.length} instances exited: ${JSON.stringify(dead[0].exitInfo)}`);
      await L.sleep(200);
    }
  }
}

function rate(times, from, to) {
  const n = times.filter((t) => t >= from && t < to).length;
  return to > from ? n / ((to - from) / WINDOW) : 0;
}

async function main() {
  if (!fs.existsSync(L.BIN)) throw new Error(`${L.BIN}: not built (make build/akvd)`);
  const work = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'akvd-fleet-'));
  L.onExit(() => fs.rmSync(work, { recursive: true, force: true }));
  const out = L.scratch('akvd-fleet-');

  log(`fleet: ${SIZE} × akvd (${path.relative(process.cwd(), L.BIN)}), ${SECRETS} secrets each, ` +
    `interval ${INTERVAL} s, budget ${BUDGET} requests per 10 s, outage ${OUTAGE} s (${KIND})`);
  const d = await startDoubles({ dir: path.join(work, 'doubles') });
  for (let j = 0; j < SECRETS; j++) d.kv.setSecret(secretName(j), valueOf(0, j));
  d.kv.setThrottle({ budget: BUDGET, windowMs: WINDOW });

  const dirs = [];
  const procs = [];
  const t0 = Date.now();
  for (let i = 0; i < SIZE; i++) {
    const dir = path.join(out, `i${i}`);
    const cfg = path.join(work, `i${i}.json`);
    fs.writeFileSync(cfg, JSON.stringify({
      output_dir: dir, interval: `${INTERVAL}s`, vault: d.vaultUrl,
      auth: { tenant_id: d.tenantId, client_id: d.clientId, token_file: d.tokenFile,
        authority_host: d.authorityHost },
      tls: { ca_file: d.caFile },
      objects: Array.from({ length: SECRETS }, (_, j) => ({ name: secretName(j) })),
    }));
    dirs.push(dir);
    procs.push(L.startAkvd(['-c', cfg, '--log-level', 'warn'], { logFile: path.join(work, `i${i}.log`) }));
    if (STAGGER > 0) await L.sleep((STAGGER * 1000) / SIZE);
  }
  const watcher = new Watcher(dirs);
  watcher.expect(0);
  const startPending = await watcher.until(t0 + 120000 + SIZE * 200, procs);
  if (startPending > 0) throw new Error(`${startPending} instances without their first files after start`);
  const tReady = Date.now();
  log(`every instance has its files after ${((tReady - t0) / 1000).toFixed(1)} s`);

  // Steady state: two intervals.
  await L.sleep(2 * INTERVAL * 1000);
  const mem = procs.map((p) => L.memory(p.pid)).filter(Boolean);
  const tOutage = Date.now();
  log(`outage: every request ${KIND === 'reset' ? 'reset' : 'answered 503'} for ${OUTAGE} s; ` +
    'every secret rotated half-way');
  d.kv.fault(KIND === 'reset' ? { match: '/', reset: true } : { match: '/', status: 503 });
  await L.sleep(OUTAGE * 500);
  for (let j = 0; j < SECRETS; j++) d.kv.setSecret(secretName(j), valueOf(1, j));
  watcher.expect(1);
  await L.sleep(OUTAGE * 500);
  d.kv.clearFaults();
  const tRecover = Date.now();
  log('recovery: the vault answers again');
  const pending = await watcher.until(tRecover + Math.max(3 * FRESH_TARGET, FRESH_TARGET + 120) * 1000, procs);
  const tFresh = Date.now();
  const fresh = watcher.freshAt.filter((t) => t !== null).map((t) => (t - tRecover) / 1000);
  log(pending === 0 ? `every instance fresh ${((tFresh - tRecover) / 1000).toFixed(1)} s after recovery`
    : `${pending} instances still stale after ${((tFresh - tRecover) / 1000).toFixed(1)} s`);
  // One more window so that the recovery's peak is seen whole.
  const tEnd = Math.max(tFresh, tRecover + FRESH_TARGET * 1000) + WINDOW;
  await L.sleep(Math.max(0, tEnd - Date.now()));
  const memEnd = procs.map((p) => L.memory(p.pid)).filter(Boolean);
  const cpu = procs.map((p) => L.cpuSeconds(p.pid)).filter((x) => x !== null);
  const died = procs.filter((p) => p.exitInfo).length;

  const infos = await L.stopAll(procs);
  const badExits = infos.filter((x) => x.code !== 0).length;
  let logLines = 0;
  for (let i = 0; i < SIZE; i++) {
    logLines += fs.readFileSync(path.join(work, `i${i}.log`), 'utf8').split('\n').filter(Boolean).length;
  }

  const reqs = d.kv.requests();
  const times = reqs.map((r) => r.time).sort((a, b) => a - b);
  const between = (a, b) => reqs.filter((r) => r.time >= a && r.time < b);
  const count = (rs, st) => rs.filter((r) => r.status === st).length;
  const startReqs = between(t0, tReady);
  const recReqs = between(tRecover, tEnd);
  const isList = (q) => /^\/secrets\/?$/.test(q.path);
  const peak10 = L.peakWindow(times, WINDOW, tRecover, tEnd);
  const peak1 = L.peakWindow(times, 1000, tRecover, tEnd);
  const kib = (xs) => ({ median: L.median(xs), max: Math.max(...xs) });
  const report = {
    instances: SIZE,
    secrets_per_instance: SECRETS,
    interval_s: INTERVAL,
    budget_per_10s: BUDGET,
    outage_s: OUTAGE,
    outage_kind: KIND,
    binary: L.BIN,
    startup: {
      seconds_to_all_files: (tReady - t0) / 1000,
      requests: startReqs.length,
      throttled_429: count(startReqs, 429),
      peak_per_10s: L.peakWindow(times, WINDOW, t0, tReady),
    },
    steady: { requests_per_10s: Math.round(rate(times, tReady, tOutage)),
      peak_per_10s: L.peakWindow(times, WINDOW, tReady, tOutage) },
    outage: { requests: between(tOutage, tRecover).length },
    recovery: {
      peak_per_10s: peak10,
      peak_per_s: peak1,
      requests: recReqs.length,
      throttled_429: count(recReqs, 429),
      // Where they went: listings of the vault (change detection) or
      // GETs of one secret, each served or throttled.
      lists: recReqs.filter((q) => isList(q)).length,
      lists_429: recReqs.filter((q) => isList(q) && q.status === 429).length,
      gets: recReqs.filter((q) => !isList(q)).length,
      gets_429: recReqs.filter((q) => !isList(q) && q.status === 429).length,
      seconds_until_all_fresh: pending === 0 ? (tFresh - tRecover) / 1000 : null,
      fresh_s: { median: L.median(fresh), p90: L.quantile(fresh, 0.9), max: fresh.length ? Math.max(...fresh) : null },
      stale_instances: pending,
      target_s: FRESH_TARGET,
    },
    throttled_429_total: reqs.filter((r) => r.status === 429).length,
    requests_total: reqs.length,
    rss_kib: { steady: kib(mem.map((m) => m.rss)), end: kib(memEnd.map((m) => m.rss)),
      anon_end: kib(memEnd.map((m) => m.anon)), hwm: kib(memEnd.map((m) => m.hwm)) },
    cpu_s_per_instance: { median: L.median(cpu), max: cpu.length ? Math.max(...cpu) : null,
      over_s: (tEnd - t0) / 1000 },
    log_lines_warn: logLines,
    died_early: died,
    nonzero_exits: badExits,
  };
  // Requests and 429s per second from the start, and the phases' offsets.
  const secs = Math.ceil((tEnd - t0) / 1000);
  report.timeline = { t0: new Date(t0).toISOString(), ready_s: (tReady - t0) / 1000,
    outage_s: (tOutage - t0) / 1000, recovery_s: (tRecover - t0) / 1000,
    requests_per_s: new Array(secs).fill(0), throttled_per_s: new Array(secs).fill(0) };
  for (const q of reqs) {
    const k = Math.floor((q.time - t0) / 1000);
    if (k < 0 || k >= secs) continue;
    report.timeline.requests_per_s[k]++;
    if (q.status === 429) report.timeline.throttled_per_s[k]++;
  }
  report.targets = {
    no_burst_above_budget: peak10 <= BUDGET,
    all_fresh_within_target: pending === 0 && Math.max(...fresh) <= FRESH_TARGET,
  };
  await d.close();

  fs.mkdirSync(path.dirname(JSON_OUT), { recursive: true });
  fs.writeFileSync(JSON_OUT, `${JSON.stringify(report, null, 2)}\n`);
  const r = report.recovery;
  console.log(`
fleet: ${SIZE} instances × ${SECRETS} secrets, interval ${INTERVAL} s, budget ${BUDGET}/10 s, outage ${OUTAGE} s
  start-up:       every instance's files after ${report.startup.seconds_to_all_files.toFixed(1)} s, ${report.startup.throttled_429} × 429 of ${report.startup.requests} requests (peak ${report.startup.peak_per_10s}/10 s)
  steady:         ${report.steady.requests_per_10s} requests/10 s on average, peak ${report.steady.peak_per_10s} (budget ${BUDGET})
  outage:         ${report.outage.requests} requests in ${OUTAGE} s
  recovery peak:  ${peak10} requests in 10 s (budget ${BUDGET}: ${report.targets.no_burst_above_budget ? 'not exceeded' : 'EXCEEDED'}), ${peak1} in 1 s
  recovery:       ${r.throttled_429} × 429 of ${r.requests} requests: ${r.lists} listings (${r.lists_429} × 429), ${r.gets} GETs (${r.gets_429} × 429)
  fresh:          ${pending === 0 ? `every instance after ${r.seconds_until_all_fresh.toFixed(1)} s` : `${pending} STALE`} (median ${r.fresh_s.median?.toFixed(1)} s, p90 ${r.fresh_s.p90?.toFixed(1)} s; target ${FRESH_TARGET.toFixed(0)} s: ${report.targets.all_fresh_within_target ? 'met' : 'MISSED'})
  429s served:    ${report.throttled_429_total} of ${report.requests_total} requests
  RSS/instance:   median ${report.rss_kib.end.median} KiB, max ${report.rss_kib.end.max} KiB (anon median ${report.rss_kib.anon_end.median}, max ${report.rss_kib.anon_end.max} KiB)
  CPU/instance:   median ${report.cpu_s_per_instance.median?.toFixed(2)} s over ${report.cpu_s_per_instance.over_s.toFixed(0)} s
  log (warn):     ${logLines} lines from ${SIZE} instances; ${died} died early, ${badExits} non-zero exits
  written:        ${path.relative(process.cwd(), JSON_OUT)}`);
  const ok = report.targets.no_burst_above_budget && report.targets.all_fresh_within_target &&
    died === 0 && badExits === 0;
  if (!ok && STRICT) {
    console.log('fleet: FAILED (a target missed or an instance failed)');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(`fleet: ${e.stack || e}`);
  process.exit(1);
});
