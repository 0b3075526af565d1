'use strict';
// "Ready" has one definition: every required (non-optional) object has a
// value in the snapshot written.  Every signal of readiness follows it:
// starting the supervised command, READY=1, /readyz, --once's exit status
// and the first notification.  Until then akvd says what it waits for.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { setup } = require('./lib/setup');
const { ROOT, Akvd, until, sleep, tryRead, runAkvd, healthEndpoint: endpoint, httpGet: get } = require('./lib/akvd');

const CHILD = path.join(__dirname, 'lib', 'child.js');

function records(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch (e) {
    return [];
  }
}

// A stand-in for systemd's notification socket: the messages received.
async function notifySocket(t, fx) {
  const sock = path.join(fx.dir, 'notify.sock');
  const sd = spawn(path.join(ROOT, 'build', 'test', 'sd_listen'), [sock]);
  t.after(() => sd.kill('SIGKILL'));
  let out = '';
  sd.stdout.on('data', (b) => { out += b; });
  await until(() => out.includes('listening'), { what: 'the notify socket' });
  return { sock, msgs: () => out.split('\n').filter((l) => l && l !== 'listening') };
}

const WAITING = /not ready: waiting for required objects status="waiting for 1 of 2 objects: b: HTTP 503 ServiceUnavailable"/;

test('supervise: a required object answering 503 at start-up holds the command until it is written', async (t) => {
  const fx = await setup(t);
  fx.set('a', 'ready-a');
  fx.set('b', 'ready-b');
  fx.d.kv.fault({ match: '/secrets/b', status: 503, times: 2 });
  const rec = path.join(fx.dir, 'child.record');
  // The instance: a 30 s interval, b failing twice, then fine.
  const a = new Akvd(['--config', fx.write(fx.config([{ name: 'a' }, { name: 'b' }], { interval: '30s' })),
    '--', process.execPath, CHILD, rec, path.join(fx.out, 'b')]);
  fx.procs.push(a);
  await until(() => records(rec).some((r) => r.kind === 'start'), { timeout: 20000, what: 'the command' });
  assert.equal(records(rec)[0].content, 'ready-b', 'b existed when the command started');
  const log = a.log();
  // What it waited for was said, and the command came after the complete snapshot.
  assert.match(log, WAITING);
  assert.match(log, /command not started yet: it starts with the first complete snapshot/);
  const started = a.lines.findIndex((l) => /command started/.test(l));
  const complete = a.lines.findIndex((l) => /snapshot written .*objects=2/.test(l));
  assert.ok(complete >= 0 && started > complete, log);
  assert.equal(a.count(/command started/), 1);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('supervise: while a required object keeps failing the command waits, and the log says why at growing intervals',
  async (t) => {
    const fx = await setup(t);
    fx.set('a', 'wait-a');
    fx.set('b', 'wait-b');
    fx.d.kv.fault({ match: '/secrets/b', status: 503 });
    const rec = path.join(fx.dir, 'child.record');
    const a = new Akvd(['--config', fx.write(fx.config([{ name: 'a' }, { name: 'b' }], { interval: '1s' })),
      '--', process.execPath, CHILD, rec, path.join(fx.out, 'b')]);
    fx.procs.push(a);
    // 1 s doubling: failures at about 0, 1, 3, 7 s.
    await until(() => fx.d.kv.requests().filter((q) => q.path === '/secrets/b').length >= 5,
      { timeout: 30000, what: 'five failures of b' });
    await sleep(300);
    assert.equal(tryRead(fx.out, 'a'), 'wait-a', 'what could be written was');
    assert.deepEqual(records(rec), [], 'the command did not start');
    // Reported at each failure, logged on the 1st, 2nd, 4th...
    const waits = a.lines.filter((l) => WAITING.test(l)).map((l) => Number(/reports=(\d+)/.exec(l)[1]));
    assert.deepEqual(waits.slice(0, 3), [1, 2, 4], a.log());
    for (const n of waits) assert.equal(n & (n - 1), 0, `report ${n} logged`);
    fx.d.kv.clearFaults();
    a.kill('SIGUSR1');
    await until(() => records(rec).some((r) => r.kind === 'start'), { timeout: 20000, what: 'the command' });
    assert.equal(records(rec)[0].content, 'wait-b');
    assert.match(a.log(), /ready: every required object is in the snapshot/);
    await a.stop();
    fx.assertNoSecretsLogged(a);
  });

test('supervise: a token failure at start-up holds the command until the files are there', async (t) => {
  const fx = await setup(t);
  fx.set('tok', 'token-late');
  fx.d.entra.fault({ status: 500, times: 2 });
  const rec = path.join(fx.dir, 'child.record');
  const a = new Akvd(['--config', fx.write(fx.config([{ name: 'tok' }], { interval: '30s' })),
    '--', process.execPath, CHILD, rec, path.join(fx.out, 'tok')]);
  fx.procs.push(a);
  await until(() => records(rec).some((r) => r.kind === 'start'), { timeout: 20000, what: 'the command' });
  assert.equal(records(rec)[0].content, 'token-late');
  assert.match(a.log(), /waiting for 1 of 1 objects: tok: no access token/);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('an optional object failing at start-up does not hold the command', async (t) => {
  const fx = await setup(t);
  fx.set('a', 'opt-a');
  fx.d.kv.fault({ match: '/secrets/extra', status: 503 });
  const rec = path.join(fx.dir, 'child.record');
  const a = new Akvd(['--config', fx.write(fx.config([{ name: 'a' }, { name: 'extra', optional: true }],
    { interval: '30s' })), '--', process.execPath, CHILD, rec, path.join(fx.out, 'a')]);
  fx.procs.push(a);
  await until(() => records(rec).some((r) => r.kind === 'start'), { timeout: 20000, what: 'the command' });
  assert.equal(records(rec)[0].content, 'opt-a');
  await a.stop();
});

test('READY=1 waits for a complete snapshot; STATUS= says what akvd waits for, then that it is ready', async (t) => {
  const fx = await setup(t);
  fx.set('a', 'sd-a');
  fx.set('b', 'sd-b');
  fx.d.kv.fault({ match: '/secrets/b', status: 503 });
  const sd = await notifySocket(t, fx);
  const a = new Akvd(['--config', fx.write(fx.config([{ name: 'a' }, { name: 'b' }], { interval: '1s' }))],
    { env: { NOTIFY_SOCKET: sd.sock } });
  fx.procs.push(a);
  await a.waitLog(/snapshot written .*objects=1/);
  await until(() => sd.msgs().filter((m) => m.startsWith('STATUS=waiting for 1 of 2 objects: b: HTTP 503')).length >= 2,
    { timeout: 20000, what: `STATUS= while waiting:\n${sd.msgs().join('\n')}` });
  assert.ok(!sd.msgs().some((m) => m.includes('READY=1')), `no READY=1 yet:\n${sd.msgs().join('\n')}`);
  fx.d.kv.clearFaults();
  a.kill('SIGUSR1');
  await until(() => sd.msgs().some((m) => m.startsWith('READY=1')), { timeout: 20000, what: 'READY=1' });
  assert.match(sd.msgs().find((m) => m.startsWith('READY=1')),
    /^READY=1\|STATUS=ready: 2 objects, 0 failing, last snapshot \d\d:\d\d:\d\dZ$/);
  assert.equal(tryRead(fx.out, 'b'), 'sd-b');
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('READY=1 waits for a token that fails at start-up; STATUS= says so', async (t) => {
  const fx = await setup(t);
  fx.set('tok', 'sd-token');
  fx.d.entra.fault({ status: 500 });
  const sd = await notifySocket(t, fx);
  const a = new Akvd(['--config', fx.write(fx.config([{ name: 'tok' }]))], { env: { NOTIFY_SOCKET: sd.sock } });
  fx.procs.push(a);
  await until(() => sd.msgs().filter((m) => m === 'STATUS=waiting for 1 of 1 objects: tok: no access token').length >= 2,
    { timeout: 20000, what: `STATUS= while waiting:\n${sd.msgs().join('\n')}` });
  assert.ok(!sd.msgs().some((m) => m.includes('READY=1')));
  fx.d.entra.clearFaults();
  await until(() => sd.msgs().some((m) => m.startsWith('READY=1|STATUS=ready: 1 objects')),
    { timeout: 30000, what: 'READY=1' });
  assert.equal(tryRead(fx.out, 'tok'), 'sd-token');
  await a.stop();
});

test('/readyz: 503 naming what is missing after an incomplete first snapshot, 200 once complete', async (t) => {
  const fx = await setup(t);
  fx.set('a', 'rz-a');
  fx.set('b', 'rz-b');
  fx.d.kv.fault({ match: '/secrets/b', status: 503 });
  const a = fx.start(fx.write(fx.config([{ name: 'a' }, { name: 'b' }], { interval: '1s', listen: '127.0.0.1:0' })));
  const base = await endpoint(a);
  await a.waitLog(/snapshot written .*objects=1/);
  const r = await get(base, '/readyz');
  assert.equal(r.status, 503);
  assert.equal(r.body, 'not ready: waiting for 1 of 2 objects: b: HTTP 503 ServiceUnavailable\n');
  fx.d.kv.clearFaults();
  a.kill('SIGUSR1');
  await until(async () => (await get(base, '/readyz')).status === 200, { timeout: 20000, what: '/readyz 200' });
  await a.stop();
});

test('--once: the exit status follows the same definition (a required object missing: 1; optional: 0)', async (t) => {
  const fx = await setup(t);
  fx.set('a', 'once-a');
  fx.d.kv.fault({ match: '/secrets/b', status: 404, body: { error: { code: 'SecretNotFound', message: 'no b' } } });
  let r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'a' }, { name: 'b' }]))]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /not complete status="waiting for 1 of 2 objects: b: HTTP 404 SecretNotFound"/);
  assert.equal(tryRead(fx.out, 'a'), 'once-a');
  r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'a' }, { name: 'b', optional: true }]))]);
  assert.equal(r.code, 0, r.stderr);
  // A value adopted from a previous run does not make --once complete: it
  // must be confirmed.
  fx.d.kv.clearFaults();
  fx.set('b', 'once-b');
  r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'a' }, { name: 'b' }]))]);
  assert.equal(r.code, 0, r.stderr);
  fx.d.kv.fault({ match: '/secrets/b', status: 403, body: { error: { code: 'Forbidden', message: 'denied' } } });
  r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'a' }, { name: 'b' }]))]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(tryRead(fx.out, 'b'), 'once-b', 'the earlier file is kept');
});

// exec notification that records what it saw: b's content and AKVD_CHANGED.
function probeNotify(fx, rec) {
  return { exec: ['/bin/sh', '-c', '{ cat "$0/b" 2>/dev/null || printf missing; echo " changed=$AKVD_CHANGED"; } >> "$1"',
    fx.out, rec] };
}

test('the first notification: none for an incomplete snapshot, none for the first complete one', async (t) => {
  const fx = await setup(t);
  fx.set('a', 'n-a1');
  fx.set('b', 'n-b1');
  fx.d.kv.fault({ match: '/secrets/b', status: 503, times: 2 });
  const rec = path.join(fx.dir, 'notify.record');
  const a = fx.start(fx.write(fx.config([{ name: 'a' }, { name: 'b' }],
    { interval: '30s', debounce: '200ms', notify: [probeNotify(fx, rec)] })));
  await a.waitLog(/snapshot written .*objects=2/, { timeout: 20000 });
  await sleep(1000);
  assert.equal(tryRead(fx.dir, 'notify.record'), null, 'the app starts with these files: nothing to tell');
  // Notifications work once ready.
  fx.set('a', 'n-a2');
  a.kill('SIGUSR1');
  await until(() => tryRead(fx.dir, 'notify.record'), { what: 'the notification' });
  await sleep(500);
  assert.equal(tryRead(fx.dir, 'notify.record'), 'n-b1 changed=a\n');
  await a.stop();
});

test('the first notification: changes to files of a previous run wait for the complete snapshot', async (t) => {
  const fx = await setup(t);
  fx.set('a', 'p-a1');
  // A previous run had only a.
  let r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'a' }]))]);
  assert.equal(r.code, 0, r.stderr);
  fx.set('a', 'p-a2');
  fx.set('b', 'p-b1');
  fx.d.kv.fault({ match: '/secrets/b', status: 503, times: 3 });
  const rec = path.join(fx.dir, 'notify.record');
  const a = fx.start(fx.write(fx.config([{ name: 'a' }, { name: 'b' }],
    { interval: '30s', debounce: '200ms', notify: [probeNotify(fx, rec)] })));
  await a.waitLog(/snapshot written .*objects=1/);
  await sleep(1000);
  assert.equal(tryRead(fx.out, 'a'), 'p-a2');
  assert.equal(tryRead(fx.dir, 'notify.record'), null, 'no notification for an incomplete snapshot');
  await until(() => tryRead(fx.dir, 'notify.record'), { timeout: 20000, what: 'the notification' });
  await sleep(500);
  // Told once, when b was there, of the change to a's file.
  assert.equal(tryRead(fx.dir, 'notify.record'), 'p-b1 changed=a\n');
  await a.stop();
  fx.assertNoSecretsLogged(a);
});
