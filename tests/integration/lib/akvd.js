'use strict';
// Helpers for the integration tests: run build/akvd as a process against
// the local doubles and observe what a user would: files, modes, exit
// codes, log lines, requests on the wire.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = process.env.AKVD_BIN || path.join(ROOT, 'build', 'akvd');

function tmpdir(prefix = 'akvd-it-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// A deadline for Promise.race that does not keep the test process alive.
function deadline(ms) {
  return new Promise((r) => setTimeout(r, ms).unref());
}

// Poll fn() until it returns a truthy value or the deadline passes.
async function until(fn, { timeout = 15000, step = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}` +
        (last instanceof Error ? `: ${last.message}` : ''));
    }
    await sleep(step);
  }
}

// The config a test would write: the doubles' endpoints plus overrides.
function baseConfig(d, out, objects, extra = {}) {
  return {
    output_dir: out,
    interval: '1s',
    timeout: '5s',
    vault: d.vaultUrl,
    auth: {
      tenant_id: d.tenantId,
      client_id: d.clientId,
      token_file: d.tokenFile,
      authority_host: d.authorityHost,
    },
    tls: { ca_file: d.caFile },
    objects,
    ...extra,
  };
}

function writeConfig(dir, cfg, name = 'akvd.json') {
  const p = path.join(dir, name);
  fs.writeFileSync(p, typeof cfg === 'string' ? cfg : JSON.stringify(cfg, null, 2));
  return p;
}

function noProxy() {
  const cur = process.env.NO_PROXY || process.env.no_proxy;
  return cur ? `${cur},127.0.0.1,localhost` : '127.0.0.1,localhost';
}

// A running akvd: collects stderr lines; resolves `exited` on exit.
class Akvd {
  // ${wrap}: a command that runs akvd (e.g. setpriv with fewer
  // capabilities), its arguments ending where akvd's path goes.
  constructor(args, { env = {}, cwd, wrap } = {}) {
    this.lines = [];
    this.stdout = '';
    const cleanEnv = { ...process.env };
    for (const k of Object.keys(cleanEnv)) {
      if (k.startsWith('AZURE_')) delete cleanEnv[k];
    }
    const cmd = wrap ? wrap[0] : BIN;
    const argv = wrap ? [...wrap.slice(1), BIN, ...args] : args;
    this.proc = spawn(cmd, argv, {
      // The doubles are on loopback: never send that through a proxy the
      // machine may have configured for the package registries.
      env: { ...cleanEnv, ASAN_OPTIONS: 'detect_leaks=1', NO_PROXY: noProxy(), no_proxy: noProxy(), ...env },
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.proc.stderr.on('data', (b) => {
      partial += b.toString();
      const parts = partial.split('\n');
      partial = parts.pop();
      for (const l of parts) {
        this.lines.push(l);
        if (process.env.AKVD_TEST_VERBOSE) process.stderr.write(`  | ${l}\n`);
      }
    });
    this.proc.stdout.on('data', (b) => { this.stdout += b.toString(); });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        if (partial) this.lines.push(partial);
        this.code = code;
        this.signal = signal;
        resolve({ code, signal });
      });
    });
  }

  log() {
    return this.lines.join('\n');
  }

  // Wait for a log line matching re (string or RegExp), after index `from`.
  async waitLog(re, { from = 0, timeout = 15000 } = {}) {
    const rx = typeof re === 'string' ? new RegExp(re) : re;
    return until(() => {
      for (let i = from; i < this.lines.length; i++) {
        if (rx.test(this.lines[i])) return { line: this.lines[i], index: i };
      }
      return null;
    }, { timeout, what: `log line ${rx}\n--- log so far:\n${this.log()}` });
  }

  count(re) {
    const rx = typeof re === 'string' ? new RegExp(re) : re;
    return this.lines.filter((l) => rx.test(l)).length;
  }

  kill(sig = 'SIGTERM') {
    if (this.code === undefined && this.signal === undefined) this.proc.kill(sig);
  }

  async stop() {
    this.kill('SIGTERM');
    const r = await Promise.race([this.exited, deadline(10000).then(() => null)]);
    if (r === null) {
      this.proc.kill('SIGKILL');
      await this.exited;
      throw new Error('akvd did not stop within 10 s of SIGTERM');
    }
    return r;
  }
}

// Run akvd to completion (for --check, --once, bad configs).
async function runAkvd(args, opts = {}) {
  const a = new Akvd(args, opts);
  const r = await Promise.race([a.exited, deadline(opts.timeout || 30000).then(() => null)]);
  if (r === null) {
    a.proc.kill('SIGKILL');
    await a.exited;
    throw new Error(`akvd ${args.join(' ')} did not exit:\n${a.log()}`);
  }
  return { code: a.code, signal: a.signal, stderr: a.log(), stdout: a.stdout, lines: a.lines };
}

function readOut(dir, name) {
  return fs.readFileSync(path.join(dir, name), 'utf8');
}

function tryRead(dir, name) {
  try {
    return readOut(dir, name);
  } catch (e) {
    return null;
  }
}

// The base URL of the health endpoint akvd ${a} logged for its ephemeral
// port ("listen": "127.0.0.1:0"), from log line ${from} on.
async function healthEndpoint(a, from = 0) {
  const { line } = await a.waitLog(/health endpoint listening .*address=127\.0\.0\.1:\d+/, { from });
  return `http://127.0.0.1:${/address=127\.0\.0\.1:(\d+)/.exec(line)[1]}`;
}

// GET ${base}${p}: { status, type (content-type), body }.
async function httpGet(base, p) {
  const r = await fetch(`${base}${p}`);
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}

module.exports = {
  BIN, ROOT, Akvd, runAkvd, baseConfig, writeConfig, tmpdir, sleep, until,
  readOut, tryRead, healthEndpoint, httpGet,
};
