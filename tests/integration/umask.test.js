'use strict';
// The systemd unit runs akvd with UMask=0077: the modes of what akvd
// creates (output directory, snapshot, the directories of an alias such as
// "db/password", the files) must not depend on it, or the app's group
// could not reach the files.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setup } = require('./lib/setup');
const { Akvd } = require('./lib/akvd');

test('under umask 077, directories are 0755 and files have their configured mode', async (t) => {
  const fx = await setup(t);
  fx.set('db-password', 'umask-pass');
  const out = path.join(fx.dir, 'run', 'akvd');
  const cfg = fx.config([{ name: 'db-password', alias: 'db/sub/password', mode: '0440' }], { output_dir: out });
  const old = process.umask(0o077);
  let a;
  try {
    a = new Akvd(['--config', fx.write(cfg)]);
  } finally {
    process.umask(old);
  }
  fx.procs.push(a);
  await a.waitLog(/snapshot written/);
  const mode = (p) => fs.statSync(p).mode & 0o777;
  assert.equal(mode(path.join(fx.dir, 'run')), 0o755);
  assert.equal(mode(out), 0o755);
  const snap = fs.readlinkSync(path.join(out, '..data'));
  assert.equal(mode(path.join(out, snap)), 0o755);
  assert.equal(mode(path.join(out, snap, 'db')), 0o755);
  assert.equal(mode(path.join(out, snap, 'db', 'sub')), 0o755);
  assert.equal(mode(path.join(out, 'db', 'sub', 'password')), 0o440);
  assert.equal(fs.readFileSync(path.join(out, 'db/sub/password'), 'utf8'), 'umask-pass');
  await a.stop();
});
