'use strict';
// What make fleet and make soak share: starting akvd processes that cannot
// outlive this one (setpriv --pdeathsig KILL, plus SIGTERM/SIGKILL on every
// way out: normal end, an exception, SIGINT, SIGTERM, SIGHUP), reading
// their memory and descriptors from /proc, and small statistics.

const fs = require('node:fs');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..', '..');
const BIN = process.env.AKVD_BIN || path.join(ROOT, 'build', 'akvd');

const children = new Set();     // ChildProcess still running
const cleanups = [];            // functions run once on the way out
let leaving = false;

let pdeathsig = null;
function hasPdeathsig() {
  if (pdeathsig === null) {
    try {
      execFileSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' });
      pdeathsig = true;
    } catch (e) {
      pdeathsig = false;
    }
  }
  return pdeathsig;
}

// Start akvd (or ${argv[0]} with ${opts.bin}) with stderr to ${logFile}.
// The process gets SIGKILL if this one dies, however it dies.
function startAkvd(args, { logFile, bin = BIN, prefix = [], env } = {}) {
  const fd = fs.openSync(logFile, 'a');
  const argv = [...prefix, bin, ...args];
  const cmd = hasPdeathsig() ? 'setpriv' : argv[0];
  const cargs = hasPdeathsig() ? ['--pdeathsig', 'KILL', '--', ...argv] : argv.slice(1);
  const p = spawn(cmd, cargs, { stdio: ['ignore', 'ignore', fd], env: env || process.env });
  fs.closeSync(fd);
  children.add(p);
  p.exitInfo = null;
  p.exited = new Promise((resolve) => p.on('exit', (code, signal) => {
    children.delete(p);
    p.exitInfo = { code, signal };
    resolve(p.exitInfo);
  }));
  return p;
}

// Stop ${procs}: SIGTERM, then SIGKILL after ${graceMs}.  Resolves to their
// exit infos.
async function stopAll(procs, graceMs = 10000) {
  for (const p of procs) if (!p.exitInfo) p.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const p of procs) if (!p.exitInfo) p.kill('SIGKILL');
  }, graceMs);
  const infos = await Promise.all(procs.map((p) => p.exited));
  clearTimeout(timer);
  return infos;
}

function onExit(fn) { cleanups.push(fn); }

function leave() {
  if (leaving) return;
  leaving = true;
  for (const p of children) {
    try { p.kill('SIGKILL'); } catch (e) { /* gone */ }
  }
  for (const fn of cleanups.reverse()) {
    try { fn(); } catch (e) { /* best effort */ }
  }
}

process.on('exit', leave);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\ninterrupted (${sig}): stopping ${children.size} processes`);
    leave();
    process.exit(130);
  });
}

// /proc/PID/status fields in KiB (VmRSS, RssAnon, RssFile, VmHWM), or null.
function memory(pid) {
  let t;
  try {
    t = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (e) {
    return null;
  }
  const f = (n) => {
    const m = new RegExp(`^${n}:\\s+(\\d+)`, 'm').exec(t);
    return m ? Number(m[1]) : null;
  };
  return { rss: f('VmRSS'), anon: f('RssAnon'), file: f('RssFile'), hwm: f('VmHWM') };
}

// Open descriptors of ${pid}, or null when it is gone.
function descriptors(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch (e) {
    return null;
  }
}

// utime + stime of ${pid} in seconds, or null.
function cpuSeconds(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch (e) {
    return null;
  }
}

function median(xs) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function quantile(xs, q) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

// Least-squares slope of ys over xs.
function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

// The largest number of ${times} (sorted, ms) in any window of ${windowMs}
// that starts at or after ${from} and ends by ${to}.
function peakWindow(times, windowMs, from = -Infinity, to = Infinity) {
  let best = 0;
  let j = 0;
  for (let i = 0; i < times.length; i++) {
    if (times[i] < from || times[i] >= to) continue;
    if (j < i) j = i;
    while (j < times.length && times[j] < times[i] + windowMs && times[j] < to) j++;
    best = Math.max(best, j - i);
  }
  return best;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A directory for output files: on tmpfs when there is one.
function scratch(prefix) {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : require('node:os').tmpdir();
  const d = fs.mkdtempSync(path.join(base, prefix));
  onExit(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

module.exports = { ROOT, BIN, startAkvd, stopAll, onExit, memory, descriptors, cpuSeconds,
  median, quantile, slope, peakWindow, sleep, scratch, children };
