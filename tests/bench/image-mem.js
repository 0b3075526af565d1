'use strict';
// The image's akvd (make image) on the doubles, 100 secrets: VmRSS and
// RssAnon after 4 cycles, with the image's hashed trust anchors and with
// the host's bundle mounted over the image's (which akvd then decodes, as
// every start did before the image held hashed names).  Prints; asserts
// nothing.   node tests/bench/image-mem.js
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startDoubles } = require('../fakes');
const { VERSION, podman, Container } = require('../container/lib');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const N = 100;

function status(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const f = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)[1]);
  return { rss: f('VmRSS'), anon: f('RssAnon') };
}

async function run(d, dir, more) {
  const out = fs.mkdtempSync('/dev/shm/akvd-image-mem-');
  fs.chmodSync(out, 0o777);
  const objects = [];
  for (let i = 0; i < N; i++) objects.push({ name: `secret-${i}` });
  fs.writeFileSync(path.join(dir, 'akvd.json'), JSON.stringify({ output_dir: '/out', interval: '1h',
    vault: d.vaultUrl, tls: { ca_file: d.caFile },
    auth: { tenant_id: d.tenantId, client_id: d.clientId, token_file: d.tokenFile,
      authority_host: d.authorityHost }, objects }));
  const c = new Container(['--network=host', `--volume=${dir}:${dir}:ro`, `--volume=${out}:/out`, ...more],
    `akvd:${VERSION}`, ['--config', path.join(dir, 'akvd.json')]);
  await c.waitLog(/snapshot written/);
  await sleep(500);
  const pid = Number(podman(['inspect', '--format', '{{.State.Pid}}', c.name]).stdout.trim());
  for (let k = 0; k < 3; k++) {
    const before = d.kv.requests().length;
    process.kill(pid, 'SIGUSR1');
    while (d.kv.requests().length < before + N) await sleep(5);
    await sleep(300);
  }
  const m = status(pid);
  c.signal('TERM');
  await c.waitExit();
  fs.rmSync(out, { recursive: true, force: true });
  return m;
}

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'akvd-image-mem-'));
  fs.chmodSync(dir, 0o755);
  const d = await startDoubles({ dir });
  for (let i = 0; i < N; i++) d.kv.setSecret(`secret-${i}`, `value-${i}-`.padEnd(256, 'x'));
  const hashed = await run(d, dir, []);
  const mounted = await run(d, dir, ['--volume=/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro']);
  console.log(`image, ${N} secrets, after 4 cycles (KiB):`);
  console.log(`  hashed anchors (the image as built):     VmRSS ${hashed.rss}  RssAnon ${hashed.anon}`);
  console.log(`  the bundle decoded (mounted over it):    VmRSS ${mounted.rss}  RssAnon ${mounted.anon}`);
  await d.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
