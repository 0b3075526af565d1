'use strict';
// make bench: fetch 100 secrets from the local doubles with build/akvd and
// print the figures the design targets (see README): wall time of the first
// sync, resident memory, TLS connections, wake-ups while idle.  Prints; does
// not assert (machines here are shared and noisy).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startDoubles } = require('../fakes');

const N = Number(process.env.BENCH_OBJECTS || 100);
const BIN = process.env.AKVD_BIN || path.join(__dirname, '..', '..', 'build', 'akvd');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const status = (pid) => fs.readFileSync(`/proc/${pid}/status`, 'utf8');
const field = (text, name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(text)[1]);

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'akvd-bench-'));
  const shm = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/akvd-bench-') : path.join(dir, 'out');
  const d = await startDoubles({ dir: path.join(dir, 'doubles') });
  const objects = [];
  for (let i = 0; i < N; i++) {
    d.kv.setSecret(`secret-${i}`, `value-${i}-`.padEnd(256, 'x'));
    objects.push({ name: `secret-${i}` });
  }
  const cfg = path.join(dir, 'akvd.json');
  fs.writeFileSync(cfg, JSON.stringify({ output_dir: shm, interval: '1h', vault: d.vaultUrl,
    auth: { tenant_id: d.tenantId, client_id: d.clientId, token_file: d.tokenFile, authority_host: d.authorityHost },
    tls: { ca_file: d.caFile }, listen: '127.0.0.1:0', objects }));
  const p = spawn(BIN, ['-c', cfg, '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  p.stderr.on('data', (b) => { log += b; });
  const started = Date.now();
  while (!log.includes('snapshot written')) {
    if (Date.now() - started > 30000) throw new Error(`no snapshot:\n${log}`);
    await sleep(10);
  }
  const lines = log.trim().split('\n').map((l) => JSON.parse(l));
  const at = (re) => Date.parse(lines.find((l) => re.test(l.msg)).time);
  const t0 = at(/access token acquired/);
  const sync = at(/snapshot written/) - t0;
  const s1 = status(p.pid);
  // Idle: no wake-ups between timers (context switches over 3 s).
  const cs0 = field(s1, 'voluntary_ctxt_switches') + field(s1, 'nonvoluntary_ctxt_switches');
  await sleep(3000);
  const s2 = status(p.pid);
  const cs1 = field(s2, 'voluntary_ctxt_switches') + field(s2, 'nonvoluntary_ctxt_switches');
  const roll = fs.readFileSync(`/proc/${p.pid}/smaps_rollup`, 'utf8');
  // A second full cycle over the same connection.
  p.kill('SIGUSR1');
  await sleep(1000);
  console.log(`objects:                 ${N}`);
  console.log(`first sync after token:  ${sync} ms (fetch ${N} + write one snapshot on ${shm.startsWith('/dev/shm') ? 'tmpfs' : 'disk'})`);
  console.log(`resident memory:         ${field(s1, 'VmRSS')} kB RSS (peak ${field(status(p.pid), 'VmHWM')} kB), ${field(roll, 'Pss_Anon')} kB anonymous, ${field(roll, 'Private_Dirty')} kB private dirty`);
  console.log(`TLS connections to KV:   ${d.kv.tlsConnections()} after two cycles`);
  console.log(`wake-ups while idle:     ${cs1 - cs0} context switches in 3 s`);
  p.kill('SIGTERM');
  await new Promise((r) => p.on('exit', r));
  await d.close();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(shm, { recursive: true, force: true });
}

main().catch((e) => { console.error(e); process.exit(1); });
