'use strict';
// The PostgreSQL rotation story of k8s/overlays/postgres, against a real
// server on loopback: a new password in Key Vault reaches akvd's file, the
// notify exec hook (the overlay's rotate-password.sh, unchanged) applies it
// through the local socket, and clients must use the new password, with no
// restart of the server.  Skipped when PostgreSQL is not installed
// (scripts/install-deps.sh installs it).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { setup } = require('./lib/setup');
const { ROOT, Akvd, until, tmpdir } = require('./lib/akvd');

const HOOK = path.join(ROOT, 'k8s', 'overlays', 'postgres', 'rotate-password.sh');

const { pgBin, startServer } = require('./lib/pg');

// A client of the application's: TCP, role "app", this password.
function connect(srv, password) {
  return spawnSync('psql', ['-X', '-w', '-h', '127.0.0.1', '-p', String(srv.port), '-U', 'app',
    '-d', 'postgres', '-tAc', 'SELECT current_user'], {
    encoding: 'utf8', env: { PATH: srv.env.PATH, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
  });
}

test('a rotated PostgreSQL password is applied by the notify exec hook, without a restart', async (t) => {
  const bin = pgBin();
  if (!bin) {
    t.skip('PostgreSQL is not installed (scripts/install-deps.sh installs it)');
    return;
  }
  const srv = await startServer(t, bin);
  const fx = await setup(t);
  const v1 = 'first-Pa55word';
  // Everything a careless hook would get wrong: quotes, backslash,
  // semicolon, shell and psql syntax.
  const v2 = `s3c'ond "pa\\ss";word $(id) \`x\` :'role' -- end`;
  fx.set('pg-app-password', v1);
  const file = path.join(fx.out, 'app-password');
  const cfg = fx.config([{ name: 'pg-app-password', alias: 'app-password', mode: '0400' }], {
    interval: '1s',
    debounce: '200ms',
    notify: [{ exec: [HOOK, 'app', file], timeout: '30s' }],
  });
  const a = new Akvd(['--config', fx.write(cfg), '--log-level', 'debug'], { env: srv.env });
  fx.procs.push(a);
  await a.waitLog(/snapshot written/);
  assert.equal(fs.readFileSync(file, 'utf8'), v1);

  // At the database's start (postStart in the overlay): the role is
  // created with the current password.
  const start = spawnSync(HOOK, ['app', file, '10'], { encoding: 'utf8', env: srv.env });
  assert.equal(start.status, 0, start.stdout + start.stderr);
  assert.match(start.stdout, /role app: password set/);
  let r = connect(srv, v1);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'app');
  const serverPid = srv.pid();

  // Rotation in Key Vault: within an interval, the file, then the role.
  fx.set('pg-app-password', v2);
  await until(() => fs.readFileSync(file, 'utf8') === v2, { timeout: 30000, what: 'the new password file' });
  await a.waitLog(/role app: password set from/, { timeout: 30000 });
  r = await until(() => {
    const c = connect(srv, fs.readFileSync(file, 'utf8'));
    return c.status === 0 ? c : null;
  }, { timeout: 30000, what: 'a connection with the new password' });
  assert.equal(r.stdout.trim(), 'app');
  r = connect(srv, v1);
  assert.notEqual(r.status, 0, 'the old password still works');
  assert.match(r.stderr, /password authentication failed for user "app"/);
  assert.equal(srv.pid(), serverPid, 'the server was not restarted');

  assert.doesNotMatch(a.log(), /notification failed/);
  fx.assertNoSecretsLogged(a);
  const serverLog = fs.readFileSync(srv.log, 'utf8');
  for (const v of [v1, v2]) assert.ok(!serverLog.includes(v), 'a password appears in the server log');
  await a.stop();
});

test('the hook fails cleanly, and says why, when the server is down', (t) => {
  const dir = tmpdir('akvd-pg-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'pw');
  fs.writeFileSync(file, 'never-shown-42', { mode: 0o400 });
  const r = spawnSync(HOOK, ['app', file], {
    encoding: 'utf8', env: { PATH: process.env.PATH, PGHOST: path.join(dir, 'nosock'), PGUSER: 'postgres' },
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /the server does not answer/);
  assert.ok(!(r.stdout + r.stderr).includes('never-shown-42'));
  const u = spawnSync(HOOK, ['app'], { encoding: 'utf8' });
  assert.equal(u.status, 2);
  assert.match(u.stderr, /usage/);
});
