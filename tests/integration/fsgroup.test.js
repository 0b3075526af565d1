'use strict';
// The volume's group (a Kubernetes fsGroup volume: root:2000, mode 2777)
// and a directory's default ACL must reach every directory and file akvd
// makes, at every depth (output directory, snapshot, the directories of an
// alias "db/sub/password", history directories, select directories, a
// bundle's directory), as an ordinary create there would give them, unless
// an object's uid/gid say otherwise; and the app, another user, must be
// able to read every file.  akvd runs as a non-root user, through setpriv.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { setup } = require('./lib/setup');
const { readOut } = require('./lib/akvd');

const AKVD_UID = 65532;
const FS_GROUP = 2000;
const APP_UID = 1000;

function needRoot(t) {
  if (process.getuid() !== 0) {
    t.skip('needs root to run akvd and the app as other users (run as root in CI)');
    return true;
  }
  return false;
}

// setpriv arguments that run the rest of the command as ${uid}:${gid} with
// supplementary ${groups} and no capability, under ${umask}.
function as(uid, gid, groups, umask = '022') {
  return ['setpriv', `--reuid=${uid}`, `--regid=${gid}`,
    groups.length ? `--groups=${groups.join(',')}` : '--clear-groups',
    '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--',
    'sh', '-c', `umask ${umask} && exec "$@"`, 'sh'];
}

// Run ${argv} as ${uid}:${gid} (no supplementary group unless given).
function runAs(uid, gid, argv, groups = []) {
  const w = as(uid, gid, groups);
  return spawnSync(w[0], [...w.slice(1), ...argv], { encoding: 'utf8' });
}

// Let the non-root akvd reach its configuration, the workload identity
// token file and the CA file: the fixture's directory is made 0700.
function openFixture(fx) {
  fs.chmodSync(fx.dir, 0o755);
  for (const f of [fx.d.tokenFile, fx.d.caFile]) {
    for (let p = path.dirname(f); p.startsWith(fx.dir); p = path.dirname(p)) {
      fs.chmodSync(p, fs.statSync(p).mode | 0o055);
    }
    fs.chmodSync(f, 0o644);
  }
}

// A Kubernetes fsGroup volume: root:${gid}, mode 2777.
function volume(fx, gid = FS_GROUP) {
  const vol = path.join(fx.dir, 'vol');
  fs.mkdirSync(vol);
  fs.chownSync(vol, 0, gid);
  fs.chmodSync(vol, 0o2777);
  return vol;
}

// Every secret akvd is to write, at every depth it makes directories.
function fill(fx) {
  fx.set('password', 'top-secret');
  fx.set('db-password', 'deep-secret');
  fx.set('signing', 'old-key');
  fx.set('signing', 'new-key');
  fx.set('sel-one', 'selected-1');
  fx.set('sel-two', 'selected-2');
  fx.set('api-key', 'bundled-1');
}

function config(fx, out, extra = {}) {
  return fx.config([
    { name: 'password' },
    { name: 'db-password', alias: 'db/sub/password', mode: '0640' },
    { name: 'signing', alias: 'keys/signing', history: 2 },
  ], {
    output_dir: out,
    select: [{ prefix: 'sel-', strip_prefix: true, dir: 'selected/app' }],
    bundles: [{ path: 'conf/app.json', objects: [{ name: 'api-key' }] }],
    ...extra,
  });
}

// The files as the app reads them (through the stable names) and their
// configured modes.
const FILES = {
  password: ['top-secret', 0o440],
  'db/sub/password': ['deep-secret', 0o640],
  'keys/signing/0': ['new-key', 0o440],
  'keys/signing/1': ['old-key', 0o440],
  'selected/app/one': ['selected-1', 0o440],
  'selected/app/two': ['selected-2', 0o440],
};
const DIRS = ['db', 'db/sub', 'keys', 'keys/signing', 'selected',
  'selected/app', 'conf'];

// Every directory and file below ${dir}, depth first, with lstat.
function walk(dir, rel = '', acc = []) {
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = fs.lstatSync(p);
    acc.push({ rel: rel ? `${rel}/${name}` : name, p, st });
    if (st.isDirectory()) walk(p, rel ? `${rel}/${name}` : name, acc);
  }
  return acc;
}

function fmt(st) {
  return `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
}

async function once(fx, cfg, wrap, name = 'akvd.json') {
  const a = fx.start(fx.write(cfg, name), ['--once'], wrap ? { wrap } : {});
  await a.exited;
  assert.equal(a.code, 0, a.log());
  assert.match(a.log(), /snapshot written/);
  fx.assertNoSecretsLogged(a);
  return a;
}

// The snapshot's directories and files, and the app reading each file.
function checkSetgidTree(out, { app = [APP_UID, FS_GROUP], values = {} } = {}) {
  const snap = fs.readlinkSync(path.join(out, '..data'));
  const tree = walk(path.join(out, snap));
  const bad = [];
  const want = (rel, st, mode) => {
    if ((st.mode & 0o7777) !== mode || st.uid !== AKVD_UID || st.gid !== FS_GROUP) {
      bad.push(`${rel}: ${fmt(st)}, want ${mode.toString(8)} ${AKVD_UID}:${FS_GROUP}`);
    }
  };
  want(snap, fs.statSync(path.join(out, snap)), 0o2755);
  for (const d of DIRS) {
    assert.ok(tree.some((e) => e.rel === d && e.st.isDirectory()), `${d} is made`);
  }
  for (const e of tree) {
    if (e.st.isDirectory()) want(e.rel, e.st, 0o2755);
    else want(e.rel, e.st, FILES[e.rel] ? FILES[e.rel][1] : 0o440);
  }
  // The links akvd makes in the volume take its group too.
  for (const name of ['..data', 'password', 'db', 'keys', 'selected', 'conf']) {
    const st = fs.lstatSync(path.join(out, name));
    assert.ok(st.isSymbolicLink(), name);
    if (st.gid !== FS_GROUP) bad.push(`${name}: link group ${st.gid}`);
  }
  assert.deepEqual(bad, []);
  // The app (another user, in the volume's group only) reads every file.
  for (const [rel, [value]] of Object.entries(FILES)) {
    const r = runAs(app[0], app[1], ['cat', path.join(out, rel)]);
    assert.equal(r.status, 0, `app reads ${rel}: ${r.stderr}`);
    assert.equal(r.stdout, values[rel] ?? value);
  }
  const r = runAs(app[0], app[1], ['cat', path.join(out, 'conf/app.json')]);
  assert.equal(r.status, 0, `app reads conf/app.json: ${r.stderr}`);
  assert.equal(JSON.parse(r.stdout)['api-key'], 'bundled-1');
}

test('setgid volume: akvd as 65532:65532 in group 2000 (umask 022 and 077): every directory is 2755 group 2000, every file group 2000, the app reads them', async (t) => {
  if (needRoot(t)) return;
  const fx = await setup(t);
  openFixture(fx);
  fill(fx);
  const vol = volume(fx);
  // The volume itself as output_dir (the sidecar layout), then a missing
  // output_dir below it, which akvd makes with its parents.
  const cases = [
    { umask: '022', out: vol, made: [] },
    { umask: '077', out: path.join(vol, 'secrets', 'app'), made: ['secrets', 'secrets/app'] },
  ];
  for (const c of cases) {
    await t.test(`umask ${c.umask}, output_dir ${path.relative(vol, c.out) || 'the volume'}`, async () => {
      const wrap = as(AKVD_UID, AKVD_UID, [FS_GROUP], c.umask);
      await once(fx, config(fx, c.out), wrap, `akvd-${c.umask}.json`);
      for (const d of c.made) {
        const st = fs.statSync(path.join(vol, d));
        assert.equal(fmt(st), `2755 ${AKVD_UID}:${FS_GROUP}`, d);
      }
      checkSetgidTree(c.out);
      // A rotation: a second snapshot replaces the first, the same result.
      const before = fs.readlinkSync(path.join(c.out, '..data'));
      fx.set('db-password', `rotated-${c.umask}`);
      await once(fx, config(fx, c.out), wrap, `akvd-${c.umask}.json`);
      assert.notEqual(fs.readlinkSync(path.join(c.out, '..data')), before);
      checkSetgidTree(c.out, { values: { 'db/sub/password': `rotated-${c.umask}` } });
      fx.set('db-password', 'deep-secret');
    });
  }
  // The volume itself is left as it was.
  assert.equal(fmt(fs.statSync(vol)), `2777 0:${FS_GROUP}`);
});

test('setgid volume: an explicit gid (akvd in that group) or uid/gid (akvd as root) still win', async (t) => {
  if (needRoot(t)) return;
  const fx = await setup(t);
  openFixture(fx);
  fx.set('plain', 'p-1');
  fx.set('grouped', 'g-1');
  fx.set('owned', 'o-1');
  fx.set('user-only', 'u-1');
  const vol = volume(fx);

  // Non-root: chown to a group of its own needs no privilege.
  const out1 = path.join(vol, 'one');
  await once(fx, fx.config([
    { name: 'plain', alias: 'a/plain' },
    { name: 'grouped', alias: 'a/b/grouped', gid: 3000 },
  ], { output_dir: out1 }), as(AKVD_UID, AKVD_UID, [FS_GROUP, 3000], '077'), 'one.json');
  assert.equal(fmt(fs.statSync(path.join(out1, 'a/plain'))), `440 ${AKVD_UID}:${FS_GROUP}`);
  assert.equal(fmt(fs.statSync(path.join(out1, 'a/b/grouped'))), `440 ${AKVD_UID}:3000`);
  assert.equal(fmt(fs.statSync(path.join(out1, 'a/b'))), `2755 ${AKVD_UID}:${FS_GROUP}`);

  // Root: uid and gid as configured; a uid alone keeps the volume's group.
  const out2 = path.join(vol, 'two');
  await once(fx, fx.config([
    { name: 'plain', alias: 'x/plain' },
    { name: 'owned', alias: 'x/y/owned', uid: 1001, gid: 3001, mode: '0400' },
    { name: 'user-only', alias: 'x/y/z/user-only', uid: 1002 },
  ], { output_dir: out2 }), null, 'two.json');
  assert.equal(fmt(fs.statSync(path.join(out2, 'x/plain'))), `440 0:${FS_GROUP}`);
  assert.equal(fmt(fs.statSync(path.join(out2, 'x/y/owned'))), '400 1001:3001');
  assert.equal(fmt(fs.statSync(path.join(out2, 'x/y/z/user-only'))), `440 1002:${FS_GROUP}`);
  for (const d of ['', 'x', 'x/y', 'x/y/z']) {
    const p = path.join(out2, d ? `..data/${d}` : '');
    assert.equal(fmt(fs.statSync(p)), `2755 0:${FS_GROUP}`, d || 'output_dir');
  }
  assert.equal(readOut(out2, 'x/y/owned'), 'o-1');
});

test('default ACL: every directory akvd makes inherits it (its "other" entry included), and the app named in it reads every file', async (t) => {
  if (needRoot(t)) return;
  const fx = await setup(t);
  openFixture(fx);
  fill(fx);
  // A plain directory (no setgid, no fsGroup) whose default ACL lets the
  // app's user in and no one else.
  const vol = path.join(fx.dir, 'acl');
  fs.mkdirSync(vol);
  fs.chmodSync(vol, 0o777);
  const set = spawnSync('setfacl', ['-d', '-m', `u::rwx,u:${APP_UID}:r-x,g::r-x,o::---`, vol],
    { encoding: 'utf8' });
  assert.equal(set.status, 0, `setfacl (scripts/install-deps.sh installs acl): ${set.stderr}`);
  const out = path.join(vol, 'secrets');
  await once(fx, config(fx, out), as(AKVD_UID, AKVD_UID, [], '077'));

  const snap = fs.readlinkSync(path.join(out, '..data'));
  const dirs = [{ rel: 'output_dir', p: out, st: fs.statSync(out) },
    { rel: snap, p: path.join(out, snap), st: fs.statSync(path.join(out, snap)) },
    ...walk(path.join(out, snap)).filter((e) => e.st.isDirectory())];
  assert.equal(dirs.length, 2 + DIRS.length);
  for (const d of dirs) {
    // 0755 capped by the ACL: group class (the mask) r-x, other none.
    assert.equal(d.st.mode & 0o7777, 0o750, `${d.rel}: ${fmt(d.st)}`);
    const acl = spawnSync('getfacl', ['-n', '-p', '--omit-header', d.p], { encoding: 'utf8' }).stdout;
    assert.match(acl, new RegExp(`^user:${APP_UID}:r-x$`, 'm'), `${d.rel}:\n${acl}`);
    assert.match(acl, new RegExp(`^default:user:${APP_UID}:r-x$`, 'm'), `${d.rel}:\n${acl}`);
  }
  // Files keep their configured mode; its group bits are the ACL's mask.
  for (const [rel, [value, mode]] of Object.entries(FILES)) {
    assert.equal(fs.statSync(path.join(out, rel)).mode & 0o7777, mode, rel);
    const r = runAs(APP_UID, APP_UID, ['cat', path.join(out, rel)]);
    assert.equal(r.status, 0, `the app reads ${rel}: ${r.stderr}`);
    assert.equal(r.stdout, value);
  }
  // Anyone else cannot even list the directories.
  const other = runAs(APP_UID + 1, APP_UID + 1, ['ls', path.join(out, snap)]);
  assert.notEqual(other.status, 0, 'another user lists the snapshot');
  assert.match(other.stderr, /Permission denied/);
});
