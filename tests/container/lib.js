'use strict';
// Helpers for the container checks (make image-check, make systemd-check):
// podman with this host's settings (scripts/podman-env.sh), and a running
// container observed like tests/integration/lib/akvd.js observes akvd.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ROOT, until, sleep } = require('../integration/lib/akvd');

const VERSION = fs.readFileSync(path.join(ROOT, 'VERSION'), 'utf8').trim();

// The environment podman needs here: CONTAINERS_CONF when the host needs
// it, as scripts/podman-env.sh decides.
function podmanEnv() {
  const r = spawnSync('sh', ['-c', '. scripts/podman-env.sh; podman_env; echo "${CONTAINERS_CONF:-}"'],
    { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`podman-env.sh: ${r.stderr}`);
  const env = { ...process.env };
  const conf = r.stdout.trim();
  if (conf) env.CONTAINERS_CONF = conf;
  return env;
}

const ENV = podmanEnv();

function podman(args, opts = {}) {
  return spawnSync('podman', args, { encoding: 'utf8', env: ENV, timeout: 120000, ...opts });
}

function imageExists(name) {
  return podman(['image', 'exists', name]).status === 0;
}

let seq = 0;
function containerName(what) {
  seq += 1;
  return `akvd-check-${process.pid}-${what}-${seq}`;
}

// A container run in the foreground by `podman run`; stderr lines collected.
class Container {
  constructor(runArgs, image, args = []) {
    this.name = containerName('c');
    this.lines = [];
    this.stdout = '';
    this.proc = spawn('podman', ['run', '--rm', '--name', this.name, ...runArgs, image, ...args],
      { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
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
        resolve({ code, signal });
      });
    });
  }

  log() {
    return this.lines.join('\n');
  }

  async waitLog(re, { from = 0, timeout = 30000 } = {}) {
    return until(() => {
      for (let i = from; i < this.lines.length; i++) {
        if (re.test(this.lines[i])) return { line: this.lines[i], index: i };
      }
      return null;
    }, { timeout, what: `log line ${re}\n--- log so far:\n${this.log()}` });
  }

  // A signal to the container's PID 1 (akvd).
  signal(sig) {
    const r = podman(['kill', '--signal', sig, this.name]);
    if (r.status !== 0) throw new Error(`podman kill ${sig}: ${r.stderr}`);
  }

  async waitExit(timeout = 30000) {
    let timer;
    const r = await Promise.race([this.exited,
      new Promise((res) => { timer = setTimeout(() => res(null), timeout); })]);
    clearTimeout(timer);
    if (r === null) {
      podman(['rm', '-f', '-t', '0', this.name]);
      await this.exited;
      throw new Error(`container did not exit:\n${this.log()}`);
    }
    return r;
  }

  async remove() {
    if (this.code === undefined) {
      podman(['rm', '-f', '-t', '0', this.name]);
      await this.exited;
    }
  }
}

// Run a container to completion: { code, stdout, stderr }.
function runToEnd(runArgs, image, args = []) {
  const r = podman(['run', '--rm', '--name', containerName('r'), ...runArgs, image, ...args]);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

module.exports = { ENV, VERSION, podman, imageExists, Container, runToEnd, sleep, until };
