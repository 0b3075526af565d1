'use strict';
// make image-check: the image built by `make image`, run the way the
// Kubernetes manifests run it (read-only root, every capability dropped,
// no-new-privileges, uid 65532 or an arbitrary uid with fsGroup 65532 as a
// supplementary group, the output on a tmpfs directory group-owned by the
// fsGroup with the setgid bit), against the local doubles on loopback
// (--network=host).  What is checked is what a user sees: exit codes,
// stdout, files and their modes and group, the health endpoint, log lines.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startDoubles } = require('../fakes');
const { VERSION, podman, imageExists, Container, runToEnd, until } = require('./lib');

const IMAGE = `akvd:${VERSION}`;
const PG_IMAGE = `akvd-postgres:${VERSION}`;
const OUT = '/var/run/secrets/app';
const FSGROUP = 65532;

if (!imageExists(IMAGE)) {
  throw new Error(`image ${IMAGE} not found: run make image first`);
}

// The pod's securityContext and the container's, as podman flags.
function k8sFlags(user) {
  return ['--network=host', '--read-only', '--cap-drop=ALL',
    '--security-opt=no-new-privileges', `--user=${user}`, `--group-add=${FSGROUP}`];
}

// A fixture: the doubles, a config directory, a tmpfs output directory
// (under /dev/shm) laid out like an emptyDir with fsGroup.
async function fixture(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'akvd-image-'));
  fs.chmodSync(dir, 0o755);
  const d = await startDoubles({ dir: path.join(dir, 'doubles') });
  const out = fs.mkdtempSync('/dev/shm/akvd-image-out-');
  fs.chownSync(out, 0, FSGROUP);
  fs.chmodSync(out, 0o2775);
  const cfgDir = path.join(dir, 'etc');
  fs.mkdirSync(cfgDir, { mode: 0o755 });
  const containers = [];
  t.after(async () => {
    for (const c of containers) await c.remove();
    await d.close();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(out, { recursive: true, force: true });
  });
  return {
    d, dir, out, cfgDir, containers,
    // The config as the ConfigMap would hold it; the doubles' files are
    // mounted at the same paths.
    config(objects, extra = {}) {
      const cfg = {
        output_dir: OUT,
        interval: '1s',
        timeout: '5s',
        vault: d.vaultUrl,
        auth: {
          tenant_id: d.tenantId, client_id: d.clientId,
          token_file: d.tokenFile, authority_host: d.authorityHost,
        },
        tls: { ca_file: d.caFile },
        objects,
        ...extra,
      };
      fs.writeFileSync(path.join(cfgDir, 'akvd.json'), JSON.stringify(cfg, null, 2), { mode: 0o644 });
    },
    mounts() {
      return [`--volume=${cfgDir}:/etc/akvd:ro`, `--volume=${path.join(dir, 'doubles')}:${path.join(dir, 'doubles')}:ro`,
        `--volume=${out}:${OUT}`];
    },
    run(user, args, more = []) {
      const c = new Container([...k8sFlags(user), ...this.mounts(), ...more], IMAGE, args);
      containers.push(c);
      return c;
    },
  };
}

function randomUid() {
  return 100000 + Math.floor(Math.random() * 900000);
}

async function get(base, p) {
  const r = await fetch(`${base}${p}`);
  return { status: r.status, body: await r.text() };
}

test('the image is at most 10 MB, FROM scratch, with akvd as the entrypoint and the default config as the command', () => {
  const r = podman(['image', 'inspect', IMAGE]);
  assert.equal(r.status, 0, r.stderr);
  const [img] = JSON.parse(r.stdout);
  assert.ok(img.Size <= 10 * 1024 * 1024, `image size ${img.Size} bytes`);
  assert.deepEqual(img.Config.Entrypoint, ['/usr/bin/akvd']);
  assert.deepEqual(img.Config.Cmd, ['--config', '/etc/akvd/akvd.json']);
  assert.equal(img.Config.User, '65532:65532');
  assert.ok(Object.keys(img.Config.ExposedPorts || {}).includes('9090/tcp'));
  assert.equal(img.Config.Labels['org.opencontainers.image.version'], VERSION);
  // Nothing but akvd, the trust anchors and passwd/group: no shell.
  const sh = runToEnd(['--network=none', '--entrypoint=/bin/sh'], IMAGE, ['-c', 'true']);
  assert.notEqual(sh.code, 0, 'a shell in the image');
});

test('--version, --help and the default command, with the k8s securityContext', () => {
  for (const user of ['65532:65532', `${randomUid()}:${randomUid()}`]) {
    const flags = ['--network=none', '--read-only', '--cap-drop=ALL', '--security-opt=no-new-privileges', `--user=${user}`];
    let r = runToEnd(flags, IMAGE, ['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `akvd ${VERSION}`);
    r = runToEnd(flags, IMAGE, ['-V']);
    assert.equal(r.stdout.trim(), `akvd ${VERSION}`);
    r = runToEnd(flags, IMAGE, ['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: akvd /);
    // No arguments: the default config file, which is not in the image.
    r = runToEnd(flags, IMAGE);
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /configuration error file=\/etc\/akvd\/akvd\.json/);
    r = runToEnd(flags, IMAGE, ['--bogus']);
    assert.equal(r.code, 2, r.stderr);
  }
});

// The arbitrary uid keeps the fsGroup as its primary group: with another
// runAsGroup the files' group comes from the setgid directory only once
// the writer keeps it (issue 10).
for (const [what, user] of [['uid 65532', '65532:65532'], ['an arbitrary uid', `${randomUid()}:${FSGROUP}`]]) {
  test(`sidecar as ${what}: first sync, rotation, /healthz /readyz /metrics, SIGHUP, SIGTERM -> 0`, async (t) => {
    const fx = await fixture(t);
    fx.d.kv.setSecret('db-password', 'image-v1');
    fx.d.kv.setSecret('api-key', 'image-key-1');
    fx.config([{ name: 'db-password', alias: 'password' }, { name: 'api-key' }], { listen: '127.0.0.1:0' });
    const c = fx.run(user, ['--config', '/etc/akvd/akvd.json', '--log-format', 'json']);
    const { line } = await c.waitLog(/health endpoint listening/);
    const base = `http://${JSON.parse(line).address}`;
    await c.waitLog(/snapshot written/);
    assert.equal(fs.readFileSync(path.join(fx.out, 'password'), 'utf8'), 'image-v1');
    assert.equal(fs.readFileSync(path.join(fx.out, 'api-key'), 'utf8'), 'image-key-1');
    const st = fs.statSync(path.join(fx.out, 'password'));
    assert.equal(st.mode & 0o777, 0o440);
    assert.equal(st.gid, FSGROUP, 'the files belong to the fsGroup (setgid directory)');
    assert.equal(st.uid, Number(user.split(':')[0]));

    assert.equal((await get(base, '/healthz')).status, 200);
    assert.equal((await get(base, '/readyz')).status, 200);
    const m = await get(base, '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.body, new RegExp(`^akvd_build_info\\{[^}]*version="${VERSION}"`, 'm'));

    // Rotation.
    fx.d.kv.setSecret('db-password', 'image-v2');
    await until(() => fs.readFileSync(path.join(fx.out, 'password'), 'utf8') === 'image-v2',
      { timeout: 30000, what: 'the rotated value' });

    // SIGHUP reloads the configuration (a new object appears).
    fx.d.kv.setSecret('added', 'image-added');
    fx.config([{ name: 'db-password', alias: 'password' }, { name: 'api-key' }, { name: 'added' }],
      { listen: '127.0.0.1:0' });
    const from = c.lines.length;
    c.signal('HUP');
    await c.waitLog(/reloading configuration/, { from });
    await until(() => fs.existsSync(path.join(fx.out, 'added')), { timeout: 30000, what: 'the added object' });
    assert.equal(fs.readFileSync(path.join(fx.out, 'added'), 'utf8'), 'image-added');

    c.signal('TERM');
    const r = await c.waitExit();
    assert.equal(r.code, 0, c.log());
    for (const v of ['image-v1', 'image-v2', 'image-key-1', 'image-added']) {
      assert.ok(!c.log().includes(v), 'no secret value in the log');
    }
  });
}

test('--once as an init container: 0 when written, 1 when an object is missing', async (t) => {
  const fx = await fixture(t);
  fx.d.kv.setSecret('db-password', 'once-v1');
  fx.config([{ name: 'db-password', alias: 'password' }]);
  let c = fx.run(`${randomUid()}:${randomUid()}`, ['--config', '/etc/akvd/akvd.json', '--once']);
  let r = await c.waitExit();
  assert.equal(r.code, 0, c.log());
  assert.equal(fs.readFileSync(path.join(fx.out, 'password'), 'utf8'), 'once-v1');

  fx.config([{ name: 'db-password', alias: 'password' }, { name: 'not-there' }]);
  c = fx.run('65532:65532', ['--config', '/etc/akvd/akvd.json', '--once']);
  r = await c.waitExit();
  assert.equal(r.code, 1, c.log());
  assert.match(c.log(), /not-there/);
});

test('akvd -- command: the command (akvd itself: no shell here) starts after the first snapshot; its status is ours',
  async (t) => {
    const fx = await fixture(t);
    fx.d.kv.setSecret('db-password', 'supervised-v1');
    fx.config([{ name: 'db-password', alias: 'password' }], { interval: '1h' });
    let c = fx.run('65532:65532', ['--config', '/etc/akvd/akvd.json', '--', '/usr/bin/akvd', '--version']);
    let r = await c.waitExit();
    assert.equal(r.code, 0, c.log());
    assert.equal(c.stdout.trim(), `akvd ${VERSION}`);
    const written = c.lines.findIndex((l) => /snapshot written/.test(l));
    const started = c.lines.findIndex((l) => /command (started|exited)/.test(l));
    assert.ok(written >= 0 && started > written, `the command ran after the first snapshot:\n${c.log()}`);
    // A command failing with 2 (a usage error): akvd exits 2.
    c = fx.run(`${randomUid()}:${randomUid()}`, ['--config', '/etc/akvd/akvd.json', '--', '/usr/bin/akvd', '--bogus']);
    r = await c.waitExit();
    assert.equal(r.code, 2, c.log());
  });

test('TLS is verified: the image\'s trust anchors by default, tls.ca_file when set', async (t) => {
  const fx = await fixture(t);
  fx.d.kv.setSecret('db-password', 'tls-v1');
  // Without tls.ca_file the doubles' private CA is not trusted (akvd keeps
  // retrying: stopped once it has said why).
  // The image's anchors are hashed (make image): looked up by subject hash
  // when a chain needs one, the bundle never decoded.
  fx.config([{ name: 'db-password', alias: 'password' }], { tls: undefined });
  let c = fx.run('65532:65532', ['--config', '/etc/akvd/akvd.json', '--log-level', 'debug']);
  await c.waitLog(/SSL certificate problem: unable to get local issuer certificate/);
  c.signal('TERM');
  await c.waitExit();
  assert.ok(!fs.existsSync(path.join(fx.out, 'password')));
  assert.match(c.log(), /system trust anchors looked up by subject hash in \/etc\/ssl\/certs/);
  assert.doesNotMatch(c.log(), /trust anchors read from/);
  // The default bundle path of the image is the one akvd reads: the same
  // config succeeds once that file holds the doubles' CA, mounted over the
  // image's (the hashed names then stand for nothing).
  c = fx.run('65532:65532', ['--config', '/etc/akvd/akvd.json', '--once', '--log-level', 'debug'],
    [`--volume=${fx.d.caFile}:/etc/ssl/certs/ca-certificates.crt:ro`]);
  const r = await c.waitExit();
  assert.equal(r.code, 0, c.log());
  assert.match(c.log(), /system trust anchors read from \/etc\/ssl\/certs\/ca-certificates\.crt/);
  assert.equal(fs.readFileSync(path.join(fx.out, 'password'), 'utf8'), 'tls-v1');
});

test('the postgres variant: psql as uid 999 with PGUSER, akvd as the entrypoint', (t) => {
  if (!imageExists(PG_IMAGE)) {
    t.skip(`${PG_IMAGE} not built (make image builds it)`);
    return;
  }
  let r = runToEnd(['--network=none', '--read-only', '--cap-drop=ALL'], PG_IMAGE, ['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `akvd ${VERSION}`);
  // No server here: psql must get as far as connecting, as role postgres.
  r = runToEnd(['--network=none', '--read-only', '--cap-drop=ALL', '--entrypoint=psql'], PG_IMAGE,
    ['-h', '/nonexistent', '-c', 'select 1']);
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.stderr, /local user with ID \d+ does not exist/);
  assert.match(r.stderr, /connection to server on socket "\/nonexistent\/\.s\.PGSQL\.5432" failed/);
  r = podman(['image', 'inspect', '--format', '{{.Config.User}} {{range .Config.Env}}{{.}} {{end}}', PG_IMAGE]);
  assert.match(r.stdout, /^999:999 /);
  assert.match(r.stdout, /PGUSER=postgres/);
  assert.doesNotMatch(r.stdout, /DEBIAN_FRONTEND/, 'DEBIAN_FRONTEND only at build time');
});
