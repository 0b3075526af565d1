'use strict';
// make soak: one akvd (the release build) for SOAK_MINUTES (default 10)
// with 100 secrets at a 1 s interval, five of them rotated every second, a
// SIGHUP every 20 s alternating between two configurations (B writes ten
// of the secrets into a JSON bundle instead of files, with another mode),
// /metrics and /readyz scraped every 5 s, and, every minute, these phases:
//
//   15 s normal | 5 s Key Vault 503 | 10 s normal |
//   5 s Key Vault 429 + Retry-After: 2 | 5 s normal |
//   10 s token endpoint 500 (tokens live 30 s: renewed every 15 s) |
//   10 s slow Key Vault (half the secrets answer after 1.5 s, ten after
//   3 s: past the 2 s timeout)
//
// RSS and open descriptors (/proc/PID/status, /proc/PID/fd) are sampled
// every SOAK_SAMPLE seconds (default 2).  After the first minute (warm-up),
// the first and the last minute are compared: the run fails when the median
// RSS grew by more than SOAK_RSS_GROWTH_KIB (default 1024) or descriptors
// grew (median by more than 1, maximum by more than 2).
//
// Then (unless SOAK_VALGRIND=0) the same scenario for SOAK_VALGRIND_SECONDS
// (default 60: one cycle of phases, two reloads) under valgrind
// --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1;
// fails on a definite leak or a memory error (log: build/soak-valgrind.log).
//
// Writes build/soak.json (SOAK_JSON).  Every process is stopped on any way
// out.

const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const { execFileSync } = require('node:child_process');
const { startDoubles } = require('../fakes');
const L = require('./lib');

const num = (name, def) => {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: not a number >= 0: ${v}`);
  return n;
};

const MINUTES = num('SOAK_MINUTES', 10);
const SAMPLE = num('SOAK_SAMPLE', 2);
const GROWTH = num('SOAK_RSS_GROWTH_KIB', 1024);
const WARMUP = 60;
const VALGRIND = process.env.SOAK_VALGRIND !== '0';
const VG_SECONDS = num('SOAK_VALGRIND_SECONDS', 60);
const OBJECTS = 100;
const JSON_OUT = process.env.SOAK_JSON || path.join(L.ROOT, 'build', 'soak.json');
const VG_LOG = path.join(path.dirname(JSON_OUT), 'soak-valgrind.log');

// One minute: [phase, seconds].
const PHASES = [['normal', 15], ['kv-503', 5], ['normal', 10], ['kv-429', 5], ['normal', 5],
  ['token-500', 10], ['slow', 10]];
function phaseAt(el) {
  let t = el % 60;
  for (const [name, secs] of PHASES) {
    if (t < secs) return name;
    t -= secs;
  }
  return 'normal';
}

function log(msg) {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

function config(d, out, which) {
  const names = Array.from({ length: OBJECTS }, (_, i) => `soak-${i}`);
  const base = {
    output_dir: out, interval: '1s', timeout: '2s', vault: d.vaultUrl,
    auth: { tenant_id: d.tenantId, client_id: d.clientId, token_file: d.tokenFile,
      authority_host: d.authorityHost },
    tls: { ca_file: d.caFile }, listen: '127.0.0.1:0',
  };
  if (which === 'A') return { ...base, objects: names.map((name) => ({ name })) };
  return {
    ...base,
    objects: names.slice(0, 90).map((name) => ({ name, mode: '0400' })),
    bundles: [{ path: 'bundle.json', objects: names.slice(90).map((name) => ({ name })) }],
  };
}

function setPhase(d, phase) {
  d.kv.clearFaults();
  d.entra.clearFaults();
  if (phase === 'kv-503') d.kv.fault({ match: '/', status: 503 });
  if (phase === 'kv-429') d.kv.fault({ match: '/', status: 429, retryAfter: 2 });
  if (phase === 'token-500') d.entra.fault({ status: 500 });
  if (phase === 'slow') {
    d.kv.fault({ match: /^\/secrets\/soak-5\d$/, delayMs: 3000 });
    d.kv.fault({ match: /^\/secrets\/soak-[0-4]?\d$/, delayMs: 1500 });
  }
}

// The address the health endpoint listens on, from the last line saying so.
function healthAddress(logFile) {
  const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('health endpoint listening'));
  if (lines.length === 0) return null;
  try {
    return JSON.parse(lines[lines.length - 1]).address;
  } catch (e) {
    return null;
  }
}

function get(address, p) {
  return new Promise((resolve) => {
    const req = http.get(`http://${address}${p}`, { timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (b) => { body += b; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
  });
}

// Run the scenario for ${seconds} around one akvd; ${prefix}: a command
// in front of it (valgrind).  Returns what was seen.
async function scenario({ seconds, prefix = [], name, sample = true, work }) {
  const dir = path.join(work, name);
  const out = path.join(L.scratch(`akvd-soak-${name}-`), 'out');
  const d = await startDoubles({ dir: path.join(dir, 'doubles'), accessTokenLifetime: 30 });
  const names = Array.from({ length: OBJECTS }, (_, i) => `soak-${i}`);
  let round = 0;
  for (const n of names) d.kv.setSecret(n, `${n}-value-0`);
  const cfg = path.join(dir, 'akvd.json');
  const logFile = path.join(dir, 'akvd.log');
  let which = 'A';
  fs.writeFileSync(cfg, JSON.stringify(config(d, out, which)));
  const p = L.startAkvd(['-c', cfg, '--log-format', 'json'], { logFile, prefix });
  const t0 = Date.now();
  const samples = [];
  const scrapes = { ok: 0, failed: 0 };
  let reloads = 0;
  let rotations = 0;
  let phase = null;
  let nextReload = 20;
  let nextScrape = 5;
  let nextSample = 5;
  let lastMetrics = '';
  let addr = null;
  let counted = 0;
  const statuses = {};
  const tally = () => {
    for (const q of d.kv.requests()) statuses[q.status] = (statuses[q.status] || 0) + 1;
  };
  for (let s = 0; ; s++) {
    const target = t0 + s * 1000;
    if (Date.now() < target) await L.sleep(target - Date.now());
    const el = (Date.now() - t0) / 1000;
    if (el >= seconds) break;
    if (p.exitInfo) throw new Error(`${name}: akvd exited: ${JSON.stringify(p.exitInfo)}\n` +
      fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n'));
    const ph = phaseAt(el);
    if (ph !== phase) {
      phase = ph;
      setPhase(d, ph);
    }
    for (let k = 0; k < 5; k++) {
      const n = names[(s * 5 + k) % OBJECTS];
      d.kv.setSecret(n, `${n}-value-${++round}`);
      rotations++;
    }
    if (el >= nextReload) {
      nextReload += 20;
      which = which === 'A' ? 'B' : 'A';
      fs.writeFileSync(`${cfg}.tmp`, JSON.stringify(config(d, out, which)));
      fs.renameSync(`${cfg}.tmp`, cfg);
      p.kill('SIGHUP');
      reloads++;
    }
    if (el >= nextScrape) {
      nextScrape += 5;
      if (!addr) addr = healthAddress(logFile);
      const m = addr ? await get(addr, '/metrics') : null;
      const r = addr ? await get(addr, '/readyz') : null;
      if (m && m.status === 200 && r) {
        scrapes.ok++;
        lastMetrics = m.body;
      } else {
        scrapes.failed++;
        addr = null;
      }
    }
    if (sample && el >= nextSample) {
      nextSample += SAMPLE;
      const mem = L.memory(p.pid);
      const fds = L.descriptors(p.pid);
      if (mem && fds !== null) samples.push({ t: el, rss: mem.rss, anon: mem.anon, fds });
    }
    if (s % 60 === 59) {
      const last = samples[samples.length - 1];
      log(`${name}: ${Math.round(el)} s, ${counted + d.kv.requests().length} requests, ` +
        `${last ? `RSS ${last.rss} KiB, ${last.fds} descriptors, ` : ''}${reloads} reloads`);
    }
    // Keep the doubles' request logs from growing for the whole run.
    if (s % 30 === 29) {
      counted += d.kv.requests().length;
      tally();
      d.kv.clearRequests();
    }
  }
  setPhase(d, 'normal');
  const requests = counted + d.kv.requests().length;
  tally();
  const tokens = d.entra.requests().length;
  const info = await L.stopAll([p], prefix.length ? 120000 : 10000);
  await d.close();
  const reloadOk = /akvd_config_reloads_total\{result="ok"\} (\d+)/.exec(lastMetrics);
  const reloadFailed = /akvd_config_reloads_total\{result="failed"\} (\d+)/.exec(lastMetrics);
  return { seconds, requests, statuses, token_requests: tokens, rotations, reloads,
    reloads_ok_seen: reloadOk ? Number(reloadOk[1]) : null,
    reloads_failed_seen: reloadFailed ? Number(reloadFailed[1]) : null,
    scrapes, exit: info[0], samples, logFile };
}

// First and last minute after the warm-up.
function growth(samples) {
  const after = samples.filter((x) => x.t >= WARMUP);
  const end = samples.length ? samples[samples.length - 1].t : 0;
  const first = after.filter((x) => x.t < WARMUP + 60);
  const last = after.filter((x) => x.t >= end - 60);
  const pick = (xs, k) => xs.map((x) => x[k]);
  const g = {
    warmup_s: WARMUP,
    rss_kib: { start: samples[0]?.rss, first_minute_median: L.median(pick(first, 'rss')),
      last_minute_median: L.median(pick(last, 'rss')), max: Math.max(...pick(samples, 'rss')),
      slope_kib_per_min: Number((L.slope(pick(after, 't'), pick(after, 'rss')) * 60).toFixed(1)) },
    anon_kib: { first_minute_median: L.median(pick(first, 'anon')), last_minute_median: L.median(pick(last, 'anon')) },
    fds: { first_minute: { median: L.median(pick(first, 'fds')), max: Math.max(...pick(first, 'fds')) },
      last_minute: { median: L.median(pick(last, 'fds')), max: Math.max(...pick(last, 'fds')) },
      min: Math.min(...pick(samples, 'fds')), max: Math.max(...pick(samples, 'fds')) },
  };
  g.rss_kib.growth = g.rss_kib.last_minute_median - g.rss_kib.first_minute_median;
  g.rss_grew = g.rss_kib.growth > GROWTH;
  g.fds_grew = g.fds.last_minute.median > g.fds.first_minute.median + 1 ||
    g.fds.last_minute.max > g.fds.first_minute.max + 2;
  return g;
}

async function main() {
  const bin = L.BIN;
  if (!fs.existsSync(bin)) throw new Error(`${bin}: not built (make build/akvd)`);
  if (MINUTES * 60 < WARMUP + 120) throw new Error('SOAK_MINUTES: at least 3 (a warm-up minute and two to compare)');
  const work = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'akvd-soak-'));
  L.onExit(() => fs.rmSync(work, { recursive: true, force: true }));
  const report = { binary: bin, minutes: MINUTES, objects: OBJECTS, interval_s: 1,
    phases: PHASES.map(([p, secs]) => `${p} ${secs} s`), rss_growth_threshold_kib: GROWTH };

  log(`soak: ${OBJECTS} secrets every 1 s for ${MINUTES} min (${path.relative(process.cwd(), bin)})`);
  const s = await scenario({ seconds: MINUTES * 60, name: 'soak', work });
  const g = growth(s.samples);
  report.soak = { ...s, logFile: undefined, samples: undefined, growth: g };
  report.samples = s.samples;
  const soakOk = !g.rss_grew && !g.fds_grew && s.exit.code === 0;

  let vgOk = true;
  if (VALGRIND) {
    log(`valgrind: the same scenario for ${VG_SECONDS} s`);
    fs.mkdirSync(path.dirname(VG_LOG), { recursive: true });
    try { fs.unlinkSync(VG_LOG); } catch (e) { /* none */ }
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    const v = await scenario({ seconds: VG_SECONDS, name: 'valgrind', work, sample: false,
      prefix: ['valgrind', '--leak-check=full', '--errors-for-leak-kinds=definite',
        '--error-exitcode=1', `--log-file=${VG_LOG}`] });
    const vlog = fs.readFileSync(VG_LOG, 'utf8');
    const grab = (re) => { const m = re.exec(vlog); return m ? Number(m[1].replace(/,/g, '')) : null; };
    report.valgrind = { seconds: VG_SECONDS, requests: v.requests, statuses: v.statuses,
      token_requests: v.token_requests,
      reloads: v.reloads, exit: v.exit, log: VG_LOG,
      definitely_lost_bytes: grab(/definitely lost: ([\d,]+) bytes/),
      indirectly_lost_bytes: grab(/indirectly lost: ([\d,]+) bytes/),
      errors: grab(/ERROR SUMMARY: ([\d,]+) errors/) };
    vgOk = v.exit.code === 0;
  }

  fs.mkdirSync(path.dirname(JSON_OUT), { recursive: true });
  fs.writeFileSync(JSON_OUT, `${JSON.stringify(report, null, 2)}\n`);
  const r = g.rss_kib;
  console.log(`
soak: ${MINUTES} min, ${OBJECTS} secrets at 1 s: ${s.requests} Key Vault requests (${Object.entries(s.statuses).map(([k, n]) => `${n} × ${k === '0' ? 'unanswered' : k}`).join(', ')}), ${s.token_requests} token requests, ${s.rotations} rotations, ${s.reloads} reloads (${s.reloads_ok_seen} ok, ${s.reloads_failed_seen} refused, per /metrics)
  RSS:          ${r.start} KiB at start, ${r.first_minute_median} KiB after warm-up, ${r.last_minute_median} KiB in the last minute (growth ${r.growth} KiB, limit ${GROWTH}; slope ${r.slope_kib_per_min} KiB/min; max ${r.max})
  anon:         ${g.anon_kib.first_minute_median} → ${g.anon_kib.last_minute_median} KiB
  descriptors:  ${g.fds.min}-${g.fds.max} (first minute median ${g.fds.first_minute.median}, max ${g.fds.first_minute.max}; last minute median ${g.fds.last_minute.median}, max ${g.fds.last_minute.max})
  scrapes:      ${s.scrapes.ok} ok, ${s.scrapes.failed} failed; exit ${JSON.stringify(s.exit)}
  result:       ${soakOk ? 'no growth' : 'GROWTH or bad exit'}`);
  if (report.valgrind) {
    const v = report.valgrind;
    console.log(`  valgrind:     ${v.seconds} s, ${v.requests} requests, ${v.reloads} reloads: definitely lost ${v.definitely_lost_bytes} bytes, indirectly ${v.indirectly_lost_bytes}, ${v.errors} errors, exit ${JSON.stringify(v.exit)}${vgOk ? '' : ' FAILED (see the log)'}`);
  }
  console.log(`  written:      ${path.relative(process.cwd(), JSON_OUT)}`);
  if (!soakOk || !vgOk) {
    console.log('soak: FAILED');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(`soak: ${e.stack || e}`);
  process.exit(1);
});
