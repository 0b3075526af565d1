'use strict';
// A full file system under the output directory: akvd runs in a private
// mount namespace (unshare -m) whose output directory is a size-limited
// tmpfs; the test fills it (bytes, then inodes) through /proc/PID/root,
// which resolves paths in akvd's namespace.  The previous snapshot stays
// whole, the error says what failed, and akvd writes the new value once
// space is freed.  Needs root (or CAP_SYS_ADMIN) and unshare(1).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { setup } = require('./lib/setup');
const { until, sleep, healthEndpoint } = require('./lib/akvd');

const canUnshare = process.getuid() === 0 &&
  spawnSync('unshare', ['-m', 'true']).status === 0;
const skip = canUnshare ? false : 'needs root and unshare -m';

const value = (tag, n) => `${tag}-`.padEnd(n, '=');

// akvd in a new mount namespace with a tmpfs of ${size} and ${inodes}
// inodes on ${mnt}.
function start(fx, cfg, mnt, { size = '512k', inodes = 64 } = {}) {
  fs.mkdirSync(mnt, { recursive: true });
  const script = `mount -t tmpfs -o size=${size},nr_inodes=${inodes},mode=0755 akvd-full "${mnt}" && exec "$0" "$@"`;
  const a = fx.start(cfg, ['--log-level', 'info'], { wrap: ['unshare', '-m', 'sh', '-c', script] });
  // unshare and sh exec: the pid is akvd's, in the new namespace.
  a.root = (p) => path.join(`/proc/${a.proc.pid}/root`, p);
  return a;
}

// Fill the file system at ${dir} (seen from outside): one big file until
// ENOSPC, or empty files until the inodes run out.  Returns what to delete.
function fill(dir, { inodes = false } = {}) {
  const made = [];
  if (inodes) {
    for (let i = 0; ; i++) {
      const f = path.join(dir, `fill-${i}`);
      try {
        fs.closeSync(fs.openSync(f, 'wx'));
      } catch (e) {
        if (e.code !== 'ENOSPC') throw e;
        return made;
      }
      made.push(f);
    }
  }
  const f = path.join(dir, 'fill');
  made.push(f);
  const fd = fs.openSync(f, 'w');
  const chunk = Buffer.alloc(4096, 0x41);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    if (e.code !== 'ENOSPC') throw e;
  } finally {
    fs.closeSync(fd);
  }
  return made;
}

function read(a, p) {
  try {
    return fs.readFileSync(a.root(p), 'utf8');
  } catch (e) {
    return null;
  }
}

for (const kind of ['bytes', 'inodes']) {
  test(`full tmpfs (${kind}): the old snapshot stays, a clear error, recovery once freed`,
    { skip, timeout: 60000 }, async (t) => {
      const fx = await setup(t);
      const mnt = path.join(fx.dir, 'disk');
      const out = path.join(mnt, 'out');
      const v1 = { doc: value('doc-1', 40000), key: value('key-1', 100) };
      fx.set('doc', v1.doc);
      fx.set('key', v1.key);
      const cfg = fx.write({ ...fx.config([{ name: 'doc' }, { name: 'key' }], { interval: '1s' }), output_dir: out });
      const a = start(fx, cfg, mnt);
      await a.waitLog(/snapshot written/);
      assert.equal(read(a, path.join(out, 'doc')), v1.doc);

      const filler = fill(a.root(mnt), { inodes: kind === 'inodes' });
      const v2 = { doc: value('doc-2', 40000), key: value('key-2', 100) };
      const from = a.lines.length;
      fx.set('doc', v2.doc);
      fx.set('key', v2.key);
      const { index } = await a.waitLog(/snapshot not written/, { from });
      // The cause, from the system, is in the line.
      assert.match(a.lines[index], /error="cannot (write|create)[^"]*No space left on device" failures=1/);
      await sleep(1500);
      // Every read in the meantime sees the old snapshot, whole.
      assert.equal(read(a, path.join(out, 'doc')), v1.doc);
      assert.equal(read(a, path.join(out, 'key')), v1.key);
      const target = fs.readlinkSync(a.root(path.join(out, '..data')));
      assert.equal(read(a, path.join(out, target, 'doc')), v1.doc);
      // Failed attempts leave nothing behind but the current snapshot.
      const hidden = fs.readdirSync(a.root(out)).filter((n) => n.startsWith('..'));
      assert.deepEqual(hidden.sort(), ['..data', target].sort());
      assert.ok(a.code === undefined, 'akvd keeps running');

      for (const f of filler) fs.unlinkSync(f);
      await until(() => read(a, path.join(out, 'doc')) === v2.doc && read(a, path.join(out, 'key')) === v2.key,
        { timeout: 20000, what: 'the new values once space is freed' });
      await a.waitLog(/snapshot written/, { from: index });
      assert.equal((await a.stop()).code, 0);
      fx.assertNoSecretsLogged(a);
    });
}

// What /readyz says while snapshots keep failing (issue 13: the files on
// disk are stale, so akvd is not ready after ready_max_failed_intervals).
test('full tmpfs: /readyz turns 503 after ready_max_failed_intervals, and back',
  { skip, timeout: 60000 }, async (t) => {
    const fx = await setup(t);
    const mnt = path.join(fx.dir, 'disk');
    const out = path.join(mnt, 'out');
    fx.set('doc', value('doc-1', 40000));
    const cfg = fx.write({ ...fx.config([{ name: 'doc' }], { interval: '1s', listen: '127.0.0.1:0',
      ready_max_failed_intervals: 1 }), output_dir: out });
    const a = start(fx, cfg, mnt);
    const base = await healthEndpoint(a);
    const readyz = async () => {
      const r = await fetch(`${base}/readyz`);
      return { status: r.status, body: await r.text() };
    };
    await a.waitLog(/snapshot written/);
    assert.equal((await readyz()).status, 200);

    const filler = fill(a.root(mnt));
    fx.set('doc', value('doc-2', 40000));
    const r = await until(async () => {
      const x = await readyz();
      return x.status === 503 ? x : null;
    }, { timeout: 15000, what: '/readyz 503 while the snapshot cannot be written' });
    // It says why: the snapshot, not the vault.
    assert.match(r.body, /snapshot|space/i);

    // Repeated failures are counted, and logged at growing intervals only
    // (the 1st, 2nd, 4th...).
    const failures = await until(async () => {
      const m = /^akvd_snapshot_failures_total (\d+)$/m.exec(await (await fetch(`${base}/metrics`)).text());
      return m && Number(m[1]) >= 3 ? Number(m[1]) : null;
    }, { timeout: 30000, what: 'three failed snapshots' });
    const logged = a.count(/snapshot not written/);
    assert.ok(logged >= 2 && logged <= Math.floor(Math.log2(failures)) + 2, `${logged} lines for ${failures} failures`);

    for (const f of filler) fs.unlinkSync(f);
    await until(async () => (await readyz()).status === 200, { timeout: 20000, what: '/readyz 200 again' });
    await a.waitLog(/snapshot written again .*failed_for=\d+/);
    assert.equal((await a.stop()).code, 0);
  });
