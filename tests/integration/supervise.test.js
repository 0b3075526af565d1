'use strict';
// Supervise mode: akvd [options] -- command args...

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setup } = require('./lib/setup');
const { Akvd, until, sleep, runAkvd } = require('./lib/akvd');

const CHILD = path.join(__dirname, 'lib', 'child.js');

function records(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch (e) {
    return [];
  }
}

function supervise(fx, cfg, childArgs) {
  const a = new Akvd(['--config', fx.write(cfg), '--', process.execPath, CHILD, ...childArgs]);
  fx.procs.push(a);
  return a;
}

test('the command starts after the first snapshot; signals are forwarded; its status is ours', async (t) => {
  const fx = await setup(t);
  fx.set('db-password', 'supervised-v1');
  const rec = path.join(fx.dir, 'child.record');
  const a = supervise(fx, fx.config([{ name: 'db-password' }], { interval: '1h' }),
    [rec, path.join(fx.out, 'db-password')]);
  await until(() => records(rec).some((r) => r.kind === 'start'), { what: 'the command' });
  assert.equal(records(rec)[0].content, 'supervised-v1', 'the file existed when the command started');
  a.kill('SIGUSR2');
  a.kill('SIGQUIT');
  await until(() => records(rec).filter((r) => r.kind === 'signal').length === 2, { what: 'forwarded signals' });
  assert.deepEqual(records(rec).filter((r) => r.kind === 'signal').map((r) => r.sig).sort(), ['SIGQUIT', 'SIGUSR2']);
  // SIGTERM goes to the command; it dies of it; akvd exits 128 + 15.
  a.kill('SIGTERM');
  const r = await a.exited;
  assert.equal(r.code, 143, a.log());
  assert.match(a.log(), /command exited pid=\d+ result="killed by signal 15"/);
});

test('the command exiting on its own ends akvd with its status', async (t) => {
  const fx = await setup(t);
  fx.set('s', 'exit-value');
  const rec = path.join(fx.dir, 'child.record');
  const r = await new Promise((resolve) => {
    const a = supervise(fx, fx.config([{ name: 's' }]), [rec, path.join(fx.out, 's'), '--exit', '3', '--after', '200']);
    a.exited.then(resolve);
  });
  assert.equal(r.code, 3);
});

test('on_change signal, and restart of a command that ignores the stop signal, with env', async (t) => {
  const fx = await setup(t);
  fx.set('db-password', 'env-v1');
  // Signal mode.
  let rec = path.join(fx.dir, 'sig.record');
  let a = supervise(fx, fx.config([{ name: 'db-password' }], { interval: '1h', on_change: { signal: 'HUP' } }),
    [rec, path.join(fx.out, 'db-password')]);
  await until(() => records(rec).length >= 1, { what: 'the command' });
  fx.set('db-password', 'env-v2');
  a.kill('SIGUSR1');
  await until(() => records(rec).some((r) => r.sig === 'SIGHUP'), { what: 'SIGHUP on change' });
  assert.equal(records(rec).filter((r) => r.kind === 'start').length, 1);
  a.kill('SIGTERM');
  await a.exited;

  // Restart mode via env: the new command sees the new value.
  rec = path.join(fx.dir, 'env.record');
  a = supervise(fx, fx.config([{ name: 'db-password' }], { interval: '1h', stop_grace: '1s',
    env: { DB_PASSWORD: 'db-password' } }), [rec, path.join(fx.out, 'db-password'), '--ignore-term']);
  await until(() => records(rec).length >= 1, { what: 'the command' });
  assert.equal(records(rec)[0].env, 'env-v2');
  const firstPid = records(rec)[0].pid;
  fx.set('db-password', 'env-v3');
  a.kill('SIGUSR1');
  await until(() => records(rec).filter((r) => r.kind === 'start').length === 2, { timeout: 20000, what: 'restart' });
  const starts = records(rec).filter((r) => r.kind === 'start');
  assert.equal(starts[1].env, 'env-v3');
  assert.notEqual(starts[1].pid, firstPid);
  assert.ok(records(rec).some((r) => r.sig === 'SIGTERM (ignored)'), 'the stop signal came first');
  assert.throws(() => process.kill(firstPid, 0), /ESRCH/, 'the old command was killed');
  assert.match(a.log(), /command ignored the stop signal: killing it/);
  // Stopping akvd stops the command the same way: stop signal, grace,
  // SIGKILL; akvd's status is the command's (128 + 9).
  const pid2 = starts[1].pid;
  a.kill('SIGTERM');
  const r = await a.exited;
  assert.equal(r.code, 137, a.log());
  assert.throws(() => process.kill(pid2, 0), /ESRCH/, 'the command was killed');
  fx.assertNoSecretsLogged(a);
});

test('supervise configuration errors; --once cannot supervise', async (t) => {
  const fx = await setup(t);
  const p = fx.write(fx.config([{ name: 'a' }], { env: { DB_PASSWORD: 'nope', '1BAD': 'a' },
    on_change: { signal: 'HUP' } }));
  let r = await runAkvd(['--check', '-c', p]);
  assert.equal(r.code, 78);
  assert.match(r.stderr, /env\.DB_PASSWORD: no object named "nope"/);
  assert.match(r.stderr, /env\.1BAD: invalid variable name/);
  assert.match(r.stderr, /on_change: env needs "restart"/);
  r = await runAkvd(['--once', '-c', p, '--', '/bin/true']);
  assert.equal(r.code, 2);
});

// The command lists its shell's descriptors and prints the variables it
// got: akvd's credentials and kept-alive connections are not for it.
// (exec >: a redirection of a command would make sh save fd 1 in fd 10.)
const PROBE = 'exec > "$0.fds"; ls /proc/$$/fd; exec > "$0.env"; echo "secret=${AZURE_CLIENT_SECRET-unset} '
  + 'header=${IDENTITY_HEADER-unset} msi=${MSI_SECRET-unset} db=${DB_PASSWORD-unset} gone=${GONE-unset} '
  + 'keep=${KEEP_ME-unset}"';

test('the command gets neither akvd\'s credentials nor its descriptors; a missing env object is warned about', async (t) => {
  const fx = await setup(t, { clientSecrets: ['sp-secret~value'] });
  fx.secrets.add('sp-secret~value');
  fx.set('db-password', 'probe-v1');
  const probe = path.join(fx.dir, 'probe');
  const cfg = fx.config([{ name: 'db-password' }, { name: 'gone', optional: true }],
    { interval: '1h', env: { DB_PASSWORD: 'db-password', GONE: 'gone' } });
  delete cfg.auth.token_file;	// AZURE_CLIENT_SECRET + tenant + client: client_secret
  const a = new Akvd(['--config', fx.write(cfg), '--', '/bin/sh', '-c', PROBE, probe], {
    env: { AZURE_CLIENT_SECRET: 'sp-secret~value', IDENTITY_HEADER: 'ih-value', MSI_SECRET: 'msi-value',
      KEEP_ME: 'kept' },
  });
  fx.procs.push(a);
  const r = await a.exited;
  assert.equal(r.code, 0, a.log());
  assert.match(a.log(), /client_secret/);
  assert.equal(fs.readFileSync(`${probe}.env`, 'utf8').trim(),
    'secret=unset header=unset msi=unset db=probe-v1 gone=unset keep=kept');
  assert.deepEqual(fs.readFileSync(`${probe}.fds`, 'utf8').trim().split('\n'), ['0', '1', '2']);
  assert.match(a.log(), /command started without some env variables: their object has no value variables=GONE/);
  fx.assertNoSecretsLogged(a);
});

test('a stream of SIGTERMs does not postpone the SIGKILL of a command that ignores them', async (t) => {
  const fx = await setup(t);
  fx.set('s', 'stream-v1');
  const rec = path.join(fx.dir, 'child.record');
  const a = supervise(fx, fx.config([{ name: 's' }], { interval: '1h', stop_grace: '2s' }),
    [rec, path.join(fx.out, 's'), '--ignore-term']);
  await until(() => records(rec).some((r) => r.kind === 'start'), { what: 'the command' });
  // A SIGTERM every 300 ms, well within the 2 s grace, until akvd exits.
  const stream = setInterval(() => a.kill('SIGTERM'), 300);
  t.after(() => clearInterval(stream));
  a.kill('SIGTERM');
  await a.waitLog(/command ignored the stop signal: killing it/, { timeout: 20000 });
  const r = await a.exited;
  clearInterval(stream);
  assert.equal(r.code, 137, a.log());
});

test('"env" or "on_change" without a command: akvd says they are ignored, and syncs', async (t) => {
  const fx = await setup(t);
  fx.set('db-password', 'no-command');
  for (const extra of [{ env: { DB_PASSWORD: 'db-password' } }, { on_change: 'restart' },
    { on_change: { signal: 'HUP' } }]) {
    const a = new Akvd(['--config', fx.write(fx.config([{ name: 'db-password' }], { interval: '1h', ...extra }))]);
    fx.procs.push(a);
    await a.waitLog(/"env" and "on_change" apply to a command supervised with .*there is none, so they are ignored/);
    await until(() => fs.existsSync(path.join(fx.out, 'db-password')), { what: 'the file' });
    a.kill('SIGTERM');
    assert.equal((await a.exited).code, 0, a.log());
  }
  // Without them, no such line.
  const a = new Akvd(['--config', fx.write(fx.config([{ name: 'db-password' }], { interval: '1h' }))]);
  fx.procs.push(a);
  await a.waitLog(/snapshot written|ready/);
  a.kill('SIGTERM');
  await a.exited;
  assert.doesNotMatch(a.log(), /are ignored/);
});
