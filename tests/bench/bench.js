'use strict';
// make bench: akvd next to the peers it replaces, on the same local doubles,
// printed side by side and written to build/bench.json.  Prints; never
// asserts (the machines here are shared and noisy: compare ratios within
// one run, medians over runs).
//
// Peers, each keeping N secrets fresh in files of a directory:
//   akvd      build/akvd (the release build), no health listener
//   sdk       tests/bench/sdk-sidecar.js: the official Azure SDK for JS
//             (@azure/identity WorkloadIdentityCredential + SecretClient)
//   curl|jq   tests/bench/curl-jq.sh: a shell loop of curl and jq, one
//             process pair and one TLS connection per secret
//
// Every peer polls on a signal instead of a clock (akvd SIGUSR1, the
// others SIGUSR2), so a cycle is measured from its first request to its
// last and nothing else runs meanwhile.  Per peer and size:
//   start    spawn -> every file written (ms), the peer says when
//   rss      VmRSS / RssAnon / RssFile (KiB) after 4 cycles, summed over
//            the peer's processes; rss_peak the largest sum seen
//   cpu      CPU time per unchanged cycle (ms; /proc schedstat of every
//            thread, plus reaped children)
//   req, tls, tok   Key Vault requests, new TLS connections to Key Vault
//            and token requests per cycle
//   wakeups  context switches while idle for 5 s after the first cycle
//   instr    (akvd, with valgrind) instructions from start to written, and
//            per steady-state request (callgrind, one run)
// Then akvd alone on its own clock (change detection, which SIGUSR1's full
// rounds bypass): Key Vault list pages and GETs per cycle.
//
// Environment: BENCH_SIZES (default 10,100,1000), BENCH_RUNS (3),
// BENCH_CYCLES (5), BENCH_PEERS (akvd,sdk,curl-jq), BENCH_JSON
// (build/bench.json), AKVD_BIN, BENCH_CALLGRIND=0 to skip valgrind,
// BENCH_CLOCK=0 to skip akvd on its own clock, BENCH_SMAPS=1 to print
// where each peer's resident memory is (per mapping, KiB).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { startDoubles } = require('../fakes');

const ROOT = path.join(__dirname, '..', '..');
const BIN = process.env.AKVD_BIN || path.join(ROOT, 'build', 'akvd');
const SIZES = (process.env.BENCH_SIZES || '10,100,1000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS || 3);
const CYCLES = Number(process.env.BENCH_CYCLES || 5);
const PEERS = (process.env.BENCH_PEERS || 'akvd,sdk,curl-jq').split(',');
const OUT = process.env.BENCH_JSON || path.join(ROOT, 'build', 'bench.json');
const IDLE_MS = 5000;
const TICK_NS = 1e9 / 100;	// USER_HZ

// Peers still running when the bench stops (an error, ^C) are stopped too.
const children = new Set();
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const v = xs.filter((x) => x != null && !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

function hasValgrind() {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return process.env.BENCH_CALLGRIND !== '0';
  } catch { return false; }
}

// ------------------------------------------------------------------ /proc

function read(p) {
  try { return fs.readFileSync(p, 'utf8'); } catch { return null; }
}

// The pids of ${pid} and of its descendants.
function tree(pid) {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = read(`/proc/${d}/stat`);
    if (st == null) continue;
    const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
    if (!kids.has(ppid)) kids.set(ppid, []);
    kids.get(ppid).push(Number(d));
  }
  const out = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop();
    out.push(p);
    for (const k of kids.get(p) || []) todo.push(k);
  }
  return out;
}

const field = (text, name) => {
  const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text || '');
  return m ? Number(m[1]) : 0;
};

// Memory of the tree (KiB).
function memory(pid) {
  const m = { rss: 0, anon: 0, file: 0 };
  for (const p of tree(pid)) {
    const s = read(`/proc/${p}/status`);
    m.rss += field(s, 'VmRSS');
    m.anon += field(s, 'RssAnon');
    m.file += field(s, 'RssFile') + field(s, 'RssShmem');
  }
  return m;
}

// CPU time (ns) of ${pid}: every thread, plus its reaped children.
function cpuNs(pid) {
  let ns = 0;
  let tasks = [];
  try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch { return 0; }
  for (const t of tasks) {
    const s = read(`/proc/${pid}/task/${t}/schedstat`);
    if (s) ns += Number(s.split(' ')[0]);
  }
  const st = read(`/proc/${pid}/stat`);
  if (st) {
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    ns += (Number(f[13]) + Number(f[14])) * TICK_NS;	// cutime, cstime
  }
  return ns;
}

// Resident KiB of ${pid} per mapped file (or [heap], [stack], anon),
// largest first: where VmRSS goes (BENCH_SMAPS=1).
function smaps(pid) {
  const by = new Map();
  let cur = null;
  for (const line of (read(`/proc/${pid}/smaps`) || '').split('\n')) {
    const h = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (h) {
      cur = `${h[2] || '[anon]'} ${h[1]}`;
      if (!by.has(cur)) by.set(cur, { rss: 0, anon: 0 });
      continue;
    }
    const f = /^(Rss|Anonymous):\s+(\d+)/.exec(line);
    if (f && cur) by.get(cur)[f[1] === 'Rss' ? 'rss' : 'anon'] += Number(f[2]);
  }
  return [...by].filter(([, v]) => v.rss > 0).sort((a, b) => b[1].rss - a[1].rss)
    .map(([k, v]) => `${String(v.rss).padStart(7)} ${String(v.anon).padStart(7)}  ${k}`).join('\n');
}

function switches(pid) {
  let n = 0;
  for (const p of tree(pid)) {
    const s = read(`/proc/${p}/status`);
    n += field(s, 'voluntary_ctxt_switches') + field(s, 'nonvoluntary_ctxt_switches');
  }
  return n;
}

// ------------------------------------------------------------------ peers

function akvdPeer(d, dir, n, { callgrind } = {}) {
  const cfg = path.join(dir, 'akvd.json');
  const objects = [];
  for (let i = 0; i < n; i++) objects.push({ name: `secret-${i}` });
  fs.writeFileSync(cfg, JSON.stringify({ output_dir: path.join(dir, 'out'), interval: '1h',
    vault: d.vaultUrl, tls: { ca_file: d.caFile },
    auth: { tenant_id: d.tenantId, client_id: d.clientId, token_file: d.tokenFile,
      authority_host: d.authorityHost },
    objects }));
  let cmd = BIN;
  let args = ['-c', cfg];
  if (callgrind) {
    cmd = 'valgrind';
    args = ['--tool=callgrind', `--callgrind-out-file=${path.join(dir, 'cg.out')}`,
      BIN, ...args];
  }
  return { cmd, args, env: process.env, ready: /snapshot written/, signal: 'SIGUSR1' };
}

function sdkPeer(d, dir, n) {
  return { cmd: process.execPath,
    args: [path.join(__dirname, 'sdk-sidecar.js'), d.vaultUrl, path.join(dir, 'out'), String(n)],
    env: { ...process.env, ...d.env, NODE_EXTRA_CA_CERTS: d.caFile },
    ready: /^written/m, signal: 'SIGUSR2' };
}

function curlJqPeer(d, dir, n) {
  return { cmd: 'sh', args: [path.join(__dirname, 'curl-jq.sh'), d.vaultUrl, path.join(dir, 'out'), String(n)],
    env: { ...process.env, ...d.env, CA_FILE: d.caFile }, ready: /^written/m, signal: 'SIGUSR2' };
}

const PEER = { akvd: akvdPeer, sdk: sdkPeer, 'curl-jq': curlJqPeer };

// Wait until Key Vault has seen ${count} requests and the peer is quiet.
async function settle(d, pid, count, limitMs) {
  const t0 = Date.now();
  while (d.kv.requests().length < count) {
    if (Date.now() - t0 > limitMs) throw new Error(`only ${d.kv.requests().length} of ${count} requests`);
    await sleep(2);
  }
  let c = cpuNs(pid);
  for (;;) {
    await sleep(30);
    const c2 = cpuNs(pid);
    if (c2 === c) return;
    c = c2;
  }
}

async function runPeer(name, d, n, opts = {}) {
  // On tmpfs when there is one, as the memory volume of a pod.
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, `akvd-bench-${name}-`));
  fs.mkdirSync(path.join(dir, 'out'));
  const spec = PEER[name](d, dir, n, opts);
  const slow = opts.callgrind ? 50 : 1;
  const limit = (60000 + n * 200) * slow;
  d.kv.clearRequests();
  const tok0 = d.entra.requests().length;
  const tls0 = d.kv.tlsConnections();
  const t0 = process.hrtime.bigint();
  const p = spawn(spec.cmd, spec.args, { env: spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(p);
  p.on('exit', () => children.delete(p));
  let out = '';
  let readyAt = null;
  const onData = (b) => {
    out += b;
    if (readyAt == null && spec.ready.test(out)) readyAt = process.hrtime.bigint();
  };
  p.stdout.on('data', onData);
  p.stderr.on('data', onData);
  const exited = new Promise((r) => p.on('exit', r));
  const r = { peer: name, n };
  try {
    while (readyAt == null) {
      if (Number(process.hrtime.bigint() - t0) / 1e6 > limit) throw new Error(`${name}: not ready:\n${out.slice(-2000)}`);
      if (p.exitCode != null) throw new Error(`${name} exited ${p.exitCode}:\n${out.slice(-2000)}`);
      await sleep(2);
    }
    r.start_ms = Number(readyAt - t0) / 1e6;
    await settle(d, p.pid, n, limit);
    if (opts.callgrind) {
      execFileSync('callgrind_control', ['-d', 'start', String(p.pid)], { stdio: 'ignore' });
    }
    if (opts.idle) {
      const w0 = switches(p.pid);
      await sleep(IDLE_MS);
      r.wakeups = switches(p.pid) - w0;
    }
    let peak = memory(p.pid).rss;
    let req = d.kv.requests().length;
    const cycles = opts.cycles;
    // Warm-up: memory is read after 4 cycles (the first one included).
    const warm = opts.callgrind ? 1 : 3;
    let cpu0 = 0, tls1 = 0, tok1 = 0, req1 = 0;
    for (let c = 0; c < cycles + warm; c++) {
      if (c === warm) {
        const m = memory(p.pid);
        if (process.env.BENCH_SMAPS && !opts.callgrind) console.error(`\n${name}:\n${smaps(p.pid)}`);
        Object.assign(r, { rss: m.rss, anon: m.anon, file: m.file });
        cpu0 = cpuNs(p.pid);
        tls1 = d.kv.tlsConnections();
        tok1 = d.entra.requests().length;
        req1 = req;
        if (opts.callgrind) execFileSync('callgrind_control', ['-z', String(p.pid)], { stdio: 'ignore' });
      }
      p.kill(spec.signal);
      req += n;
      // The peak of the process tree (curl and jq come and go).
      const sampler = setInterval(() => { peak = Math.max(peak, memory(p.pid).rss); }, 5);
      try {
        await settle(d, p.pid, req, limit);
      } finally {
        clearInterval(sampler);
      }
      peak = Math.max(peak, memory(p.pid).rss);
    }
    r.cpu_ms = (cpuNs(p.pid) - cpu0) / 1e6 / cycles;
    r.req = (d.kv.requests().length - req1) / cycles;
    r.tls = (d.kv.tlsConnections() - tls1) / cycles;
    r.tok = (d.entra.requests().length - tok1) / cycles;
    r.tls_start = tls1 - tls0;
    r.tok_start = tok0 === tok1 ? 0 : tok1 - tok0;
    r.rss_peak = peak;
    if (opts.callgrind) {
      execFileSync('callgrind_control', ['-d', 'steady', String(p.pid)], { stdio: 'ignore' });
    }
  } finally {
    p.kill('SIGTERM');
    await exited;
  }
  if (opts.callgrind) {
    const ir = (f) => {
      const m = /^summary:\s+(\d+)/m.exec(fs.readFileSync(f, 'utf8')) || /^totals:\s+(\d+)/m.exec(fs.readFileSync(f, 'utf8'));
      return m ? Number(m[1]) : null;
    };
    const files = fs.readdirSync(dir).filter((f) => f.startsWith('cg.out'));
    const start = files.find((f) => fs.readFileSync(path.join(dir, f), 'utf8').includes('desc: Trigger: dump start'));
    const steady = files.find((f) => fs.readFileSync(path.join(dir, f), 'utf8').includes('desc: Trigger: dump steady'));
    r.instr_start = start ? ir(path.join(dir, start)) : null;
    r.instr_req = steady ? ir(path.join(dir, steady)) / (r.req * opts.cycles) : null;
    if (process.env.BENCH_KEEP) console.error(`callgrind files in ${dir}`);
  }
  if (!process.env.BENCH_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  return r;
}

/*
 * Requests and CPU per cycle when akvd polls on its own clock, as it does
 * in production (SIGUSR1 forces a full round of GETs): ${n} configured
 * secrets in a vault of ${m}, one rotated every cycle (none with
 * ${rotate} false), interval 1 s, for ${secs} s after the first snapshot;
 * the list pages and GETs the vault saw, per second, akvd's CPU time per
 * second (ms) and its RSS at the end (KiB).  Change detection lists the
 * vault when ceil(M/25) pages cost less than N GETs and GETs only what
 * moved (plus a full round every 10th cycle).
 */
async function clockCycles(n, m, secs, rotate = true) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'akvd-bench-clock-'));
  const d = await startDoubles({ dir });
  try {
    for (let i = 0; i < m; i++) d.kv.setSecret(`secret-${i}`, `value-${i}`);
    const cfg = path.join(dir, 'akvd.json');
    const objects = [];
    for (let i = 0; i < n; i++) objects.push({ name: `secret-${i}` });
    fs.writeFileSync(cfg, JSON.stringify({ output_dir: path.join(dir, 'out'), interval: '1s',
      vault: d.vaultUrl, tls: { ca_file: d.caFile },
      auth: { tenant_id: d.tenantId, client_id: d.clientId, token_file: d.tokenFile,
        authority_host: d.authorityHost },
      objects }));
    const p = spawn(BIN, ['-c', cfg, '--log-level', 'warn'], { stdio: 'ignore' });
    children.add(p);
    const exited = new Promise((r) => p.on('exit', r));
    const t0 = Date.now();
    while (!fs.existsSync(path.join(dir, 'out', `secret-${n - 1}`))) {
      if (Date.now() - t0 > 60000) throw new Error('clock cycles: akvd wrote nothing');
      await sleep(20);
    }
    await sleep(1500);
    d.kv.clearRequests();
    const cpu0 = cpuNs(p.pid);
    for (let s = 0; s < secs; s++) {
      if (rotate) d.kv.setSecret(`secret-${s % n}`, `rotated-${s}`);
      await sleep(1000);
    }
    const cpu = (cpuNs(p.pid) - cpu0) / 1e6 / secs;
    const rss = Number((/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p.pid}/status`, 'utf8')) || [])[1]);
    const q = d.kv.requests();
    p.kill('SIGTERM');
    await exited;
    const list = q.filter((r) => /^\/secrets\/?$/.test(r.path)).length;
    return { n, m, secs, rotate, list: list / secs, get: (q.length - list) / secs, cpu_ms: cpu, rss };
  } finally {
    await d.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ main

const fmt = (v, d = 0) => (v == null ? '-' : Number(v).toLocaleString('en-US',
  { maximumFractionDigits: d, minimumFractionDigits: d }));

async function main() {
  const results = [];
  const cg = hasValgrind();
  for (const n of SIZES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'akvd-bench-doubles-'));
    const d = await startDoubles({ dir });
    for (let i = 0; i < n; i++) d.kv.setSecret(`secret-${i}`, `value-${i}-`.padEnd(256, 'x'));
    for (const peer of PEERS) {
      // The curl|jq loop takes about a minute per 1,000 secrets and cycle.
      const runs = peer === 'curl-jq' && n > 10 ? 1 : RUNS;
      const cycles = peer === 'curl-jq' ? Math.max(1, Math.min(CYCLES, Math.floor(300 / n))) : CYCLES;
      const rs = [];
      for (let k = 0; k < runs; k++) {
        rs.push(await runPeer(peer, d, n, { idle: k === 0, cycles }));
        process.stderr.write('.');
      }
      const m = { peer, n, runs };
      for (const key of Object.keys(rs[0])) if (typeof rs[0][key] === 'number' && key !== 'n') m[key] = median(rs.map((x) => x[key]));
      if (peer === 'akvd' && cg) {
        const c = await runPeer(peer, d, n, { callgrind: true, cycles: n >= 1000 ? 1 : 3 });
        m.instr_start = c.instr_start;
        m.instr_req = c.instr_req;
      }
      results.push(m);
    }
    await d.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stderr.write('\n');
  print(results);
  const clock = [];
  if (PEERS.includes('akvd') && process.env.BENCH_CLOCK !== '0') {
    for (const [n, m, rot] of [[20, 30, true], [100, 100, true], [100, 100, false], [2, 1000, true]]) {
      clock.push(await clockCycles(n, m, 20, rot));
    }
    console.log('\n== akvd on its own clock (interval 1 s, 20 s; one secret rotated per second' +
      ' unless "none"): Key Vault requests, CPU and RSS per cycle');
    console.log('configured N  vault M  rotated  list pages      GETs     total  one GET per secret' +
      '  CPU ms/cycle  RSS KiB');
    for (const c of clock) {
      console.log(`${fmt(c.n).padStart(12)}${fmt(c.m).padStart(9)}${(c.rotate ? '1/s' : 'none').padStart(9)}` +
        `${fmt(c.list, 1).padStart(12)}${fmt(c.get, 1).padStart(10)}${fmt(c.list + c.get, 1).padStart(10)}` +
        `${fmt(c.n).padStart(20)}${fmt(c.cpu_ms, 2).padStart(14)}${fmt(c.rss).padStart(9)}`);
    }
  }
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify({ date: new Date().toISOString(), host: os.hostname(),
    cpus: os.cpus().length, akvd: BIN, runs: RUNS, cycles: CYCLES, results, clock }, null, 2) + '\n');
  console.log(`\nwritten: ${path.relative(process.cwd(), OUT)}`);
  process.exit(0);	// the doubles' kept-alive sockets
}

// Issue 12's targets for akvd with 100 secrets (dynamic build).
const TARGETS = { start_ms: 50, rss: 8192, anon: 2048, cpu_ms: 2, instr_req: 60000,
  instr_start: 60e6 };

function print(results) {
  const rows = [
    ['start -> written (ms)', 'start_ms', 1],
    ['RSS after 4 cycles (KiB)', 'rss', 0],
    ['  anonymous (KiB)', 'anon', 0],
    ['  file-backed (KiB)', 'file', 0],
    ['RSS peak in a cycle (KiB)', 'rss_peak', 0],
    ['CPU per cycle (ms)', 'cpu_ms', 2],
    ['KV requests per cycle', 'req', 1],
    ['new TLS conns per cycle', 'tls', 2],
    ['token requests per cycle', 'tok', 2],
    ['idle wake-ups in 5 s', 'wakeups', 0],
    ['instructions start->written', 'instr_start', 0],
    ['instructions per request', 'instr_req', 0],
  ];
  for (const n of [...new Set(results.map((r) => r.n))]) {
    const rs = results.filter((r) => r.n === n);
    console.log(`\n== ${fmt(n)} secrets (medians of ${RUNS} runs; curl|jq: 1 run above 10 secrets)`);
    const w = 30;
    const targets = n === 100;
    console.log(''.padEnd(w) + rs.map((r) => r.peer.padStart(14)).join('') +
      rs.slice(1).map((r) => `${r.peer}/akvd`.padStart(14)).join('') +
      (targets ? 'akvd target'.padStart(14) : ''));
    const a = rs.find((r) => r.peer === 'akvd');
    for (const [label, key, dg] of rows) {
      if (rs.every((r) => r[key] == null)) continue;
      let line = label.padEnd(w) + rs.map((r) => fmt(r[key], dg).padStart(14)).join('');
      if (a) {
        line += rs.filter((r) => r !== a).map((r) => (a[key] && r[key] != null
          ? `${fmt(r[key] / a[key], 1)}x` : '-').padStart(14)).join('');
      }
      if (targets && TARGETS[key] != null) line += `<= ${fmt(TARGETS[key])}`.padStart(14);
      console.log(line);
    }
  }
  console.log('\ncurl|jq: memory after 4 cycles is the idle shell; the peak counts its curl and jq.');
}

main().catch((e) => { console.error(e); process.exit(1); });
