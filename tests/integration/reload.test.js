'use strict';
// A reload (SIGHUP, or the configuration file changing) changes only what
// the new configuration changes: pending notification retries, debounce
// timers, backoff and Retry-After deadlines and readiness clocks of the
// parts it keeps survive it; a retry it drops is logged and counted.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { setup } = require('./lib/setup');
const { until, sleep, tryRead, healthEndpoint: endpoint, httpGet: get } = require('./lib/akvd');

const APP = path.join(__dirname, 'lib', 'app.js');
const RECORD = path.join(__dirname, 'lib', 'record.js');

function startApp(t, fx, args = []) {
  const p = spawn(process.execPath, [APP, path.join(fx.dir, 'app.record'), ...args], { stdio: 'ignore' });
  t.after(() => p.kill('SIGKILL'));
  const events = () => (tryRead(fx.dir, 'app.record') || '').trim().split('\n').filter(Boolean)
    .map((l) => JSON.parse(l));
  return { p, events };
}

// A pid that was a process's and is no longer.
function deadPid() {
  return spawnSync('/bin/true').pid;
}

// Reload ${a} through SIGHUP and wait until the configuration is applied.
async function hup(a) {
  const mark = a.lines.length;
  a.kill('SIGHUP');
  await a.waitLog(/configuration applied/, { from: mark });
}

test('SIGHUP with the configuration unchanged keeps a pending pid_file retry: it reaches the new pid', async (t) => {
  const fx = await setup(t);
  fx.set('tls-cert', 'cert-v1');
  const pidFile = path.join(fx.dir, 'app.pid');
  fs.writeFileSync(pidFile, `${deadPid()}\n`);
  const cfgPath = fx.write(fx.config([{ name: 'tls-cert' }], { interval: '1h', debounce: '100ms',
    notify: [{ signal: 'HUP', pid_file: pidFile }] }));
  const a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  fx.set('tls-cert', 'cert-v2');
  a.kill('SIGUSR1');
  await a.waitLog(/notification failed: will retry notify="pid_file .*app\.pid" error="kill \d+: No such process.*attempt=1/);
  await hup(a);
  // The app comes back and writes its pid: the retry still pending reaches it.
  const app = startApp(t, fx, ['--pid-file', pidFile]);
  await until(() => app.events().some((e) => e.kind === 'signal' && e.sig === 'SIGHUP'),
    { timeout: 20000, what: `the retried signal:\n${a.log()}` });
  assert.match(a.log(), /notification sent notify="pid_file .*app\.pid" signal=HUP/);
  assert.doesNotMatch(a.log(), /notification failed: (dropped|giving up)/);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('the configuration file changing elsewhere keeps a pending http retry', async (t) => {
  const fx = await setup(t);
  fx.set('db', 'http-v1');
  // The app answers 503 until it is ready.
  let ready = false;
  const calls = [];
  const srv = http.createServer((req, res) => {
    calls.push(req.url);
    res.writeHead(ready ? 204 : 503);
    res.end();
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => srv.close());
  const url = `http://127.0.0.1:${srv.address().port}/refresh`;
  const cfg = (objects, interval) => fx.config(objects, { interval, debounce: '100ms', notify: [{ http: url }] });
  const cfgPath = fx.write(cfg([{ name: 'db' }], '1h'));
  const a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  fx.set('db', 'http-v2');
  a.kill('SIGUSR1');
  await a.waitLog(/notification failed: will retry notify="http POST .*\/refresh" error="HTTP 503" attempt=1/);
  const mark = a.lines.length;
  // Another interval and an optional object that is not there (no new
  // snapshot, so no new notification).
  fs.writeFileSync(cfgPath, JSON.stringify(cfg([{ name: 'db' }, { name: 'absent', optional: true }], '2h')));
  await a.waitLog(/configuration applied/, { from: mark });
  await a.waitLog(/object fetch failed object=absent/, { from: mark });
  ready = true;
  await a.waitLog(/notification sent notify="http POST .*\/refresh" status=204/, { from: mark, timeout: 20000 });
  assert.doesNotMatch(a.log(), /notification failed: (dropped|giving up)/);
  await a.stop();
});

test('a reload removing a notify entry drops its pending retry, logged and counted as failed', async (t) => {
  const fx = await setup(t);
  fx.set('s', 'drop-v1');
  const pidFile = path.join(fx.dir, 'app.pid');
  fs.writeFileSync(pidFile, `${deadPid()}\n`);
  const other = path.join(fx.dir, 'other.pid');
  const cfg = (notify) => fx.config([{ name: 's' }], { interval: '1h', debounce: '100ms', listen: '127.0.0.1:0',
    notify });
  const cfgPath = fx.write(cfg([{ signal: 'HUP', pid_file: pidFile }]));
  const a = fx.start(cfgPath);
  const base = await endpoint(a);
  await a.waitLog(/snapshot written/);
  fx.set('s', 'drop-v2');
  a.kill('SIGUSR1');
  await a.waitLog(/notification failed: will retry notify="pid_file .*app\.pid".*attempt=1/);
  // The same pid file with another signal is another notification.
  fs.writeFileSync(cfgPath, JSON.stringify(cfg([{ signal: 'USR1', pid_file: pidFile }, { signal: 'HUP', pid_file: other }])));
  await hup(a);
  await a.waitLog(/notification failed: dropped notify="pid_file .*app\.pid" reason="a reload removed its notify entry" attempts=\d+/);
  const m = await get(base, '/metrics');
  assert.match(m.body, /^akvd_notifications_failed_total\{kind="pid_file"\} 1$/m);
  // Nothing else is retried for it.
  await sleep(1500);
  assert.equal(a.count(/notification failed: will retry notify="pid_file .*app\.pid"/), 1);
  await a.stop();
});

test('a debounce pending across a reload still runs, once', async (t) => {
  const fx = await setup(t);
  fx.set('db', 'deb-v1');
  fx.set('new', 'deb-new');
  const rec = path.join(fx.dir, 'exec.record');
  const cfg = (objects) => fx.config(objects, { interval: '1h', debounce: '2s',
    notify: [{ exec: [process.execPath, RECORD, rec] }] });
  const cfgPath = fx.write(cfg([{ name: 'db' }]));
  const a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  fx.set('db', 'deb-v2');
  let mark = a.lines.length;
  a.kill('SIGUSR1');
  await a.waitLog(/object updated object=db/, { from: mark });
  await hup(a);
  await until(() => fs.existsSync(rec), { timeout: 10000, what: 'the notification' });
  await sleep(2500);
  let ex = fs.readFileSync(rec, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(ex.map((e) => e.changed), ['db']);
  // And across a reload that adds an object: one run for both changes.
  fx.set('db', 'deb-v3');
  mark = a.lines.length;
  a.kill('SIGUSR1');
  await a.waitLog(/object updated object=db/, { from: mark });
  fs.writeFileSync(cfgPath, JSON.stringify(cfg([{ name: 'db' }, { name: 'new' }])));
  await hup(a);
  await until(() => fs.readFileSync(rec, 'utf8').trim().split('\n').length >= 2, { timeout: 10000, what: 'the second' });
  await sleep(2500);
  ex = fs.readFileSync(rec, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(ex.length, 2, JSON.stringify(ex));
  assert.deepEqual(ex[1].changed.split(',').sort(), ['db', 'new']);
  await a.stop();
});

test('an object under Retry-After or in backoff is not asked again early because of a reload', async (t) => {
  const fx = await setup(t);
  fx.set('slow', 'ra-v1');
  fx.set('flaky', 'bo-v1');
  fx.set('added', 'added-v1');
  // 429 with Retry-After: 30 s; 503s back off (1 s doubling, capped at 5 min).
  fx.d.kv.fault({ match: '/secrets/slow', status: 429, retryAfter: 30 });
  fx.d.kv.fault({ match: '/secrets/flaky', status: 503 });
  const cfg = (objects) => fx.config(objects, { interval: '5m', listen: '127.0.0.1:0', ready_max_failed_intervals: 0 });
  const cfgPath = fx.write(cfg([{ name: 'slow' }, { name: 'flaky' }]));
  const a = fx.start(cfgPath);
  const base = await endpoint(a);
  const seen = (name) => fx.d.kv.requests().filter((q) => q.path === `/secrets/${name}`).length;
  // flaky fails at about 0, 1, 3 and 7 s: the next try is about 8 s away.
  await until(() => seen('flaky') >= 4, { timeout: 20000, what: 'four tries of flaky' });
  const before = { slow: seen('slow'), flaky: seen('flaky') };
  assert.equal(before.slow, 1);
  const r0 = await get(base, '/readyz');
  assert.equal(r0.status, 503);
  // An unchanged reload, then one that adds an object.
  await hup(a);
  fs.writeFileSync(cfgPath, JSON.stringify(cfg([{ name: 'slow' }, { name: 'flaky' }, { name: 'added' }])));
  await hup(a);
  await until(() => tryRead(fx.out, 'added') === 'added-v1', { what: 'the added object' });
  await sleep(2000);
  assert.deepEqual({ slow: seen('slow'), flaky: seen('flaky') }, before, 'no early request');
  // Their failures are still theirs: /readyz names the one that waits longest.
  const r1 = await get(base, '/readyz');
  assert.equal(r1.status, 503);
  assert.match(r1.body, /^not ready: waiting for 2 of 3 objects: (slow|flaky): HTTP (429|503)/);
  await a.stop();
});

test('a reload keeps the readiness clock of an object failing since before it', async (t) => {
  const fx = await setup(t);
  fx.set('db', 'clock-v1');
  const cfgPath = fx.write(fx.config([{ name: 'db' }], { interval: '1s', listen: '127.0.0.1:0',
    ready_max_failed_intervals: 2 }));
  const a = fx.start(cfgPath);
  const base = await endpoint(a);
  await until(async () => (await get(base, '/readyz')).status === 200, { what: '/readyz 200' });
  fx.d.kv.fault({ match: '/secrets/db', status: 503 });
  a.kill('SIGUSR1');
  await until(async () => (await get(base, '/readyz')).status === 503, { timeout: 30000, what: '/readyz 503' });
  await hup(a);
  const r = await get(base, '/readyz');
  assert.equal(r.status, 503);
  assert.match(r.body, /^not ready: db: failing for \d+s: HTTP 503/);
  await a.stop();
});

test('SIGHUP changing only the encoding of objects rewrites them from the values held, without a request to Key Vault', async (t) => {
  const fx = await setup(t);
  fx.set('b64', Buffer.from('plain-from-base64').toString('base64'));
  fx.set('hx', Buffer.from('plain-from-hex').toString('hex'));
  fx.set('same', 'same-v1');
  const cfg = (b64, hx) => fx.config([{ name: 'b64', ...b64 }, { name: 'hx', ...hx }, { name: 'same' }],
    { interval: '1h' });
  const cfgPath = fx.write(cfg({}, {}));
  const a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  assert.equal(tryRead(fx.out, 'b64'), Buffer.from('plain-from-base64').toString('base64'));
  fx.d.kv.clearRequests();

  fx.write(cfg({ encoding: 'base64' }, { encoding: 'hex' }));
  let mark = a.lines.length;
  await hup(a);
  await a.waitLog(/snapshot written/, { from: mark });
  assert.equal(tryRead(fx.out, 'b64'), 'plain-from-base64');
  assert.equal(tryRead(fx.out, 'hx'), 'plain-from-hex');
  assert.equal(tryRead(fx.out, 'same'), 'same-v1');
  assert.match(a.log(), /object rendered again from the value held object=b64/);
  assert.match(a.log(), /object rendered again from the value held object=hx/);

  // And back, with a new alias for one of them.
  fx.write(cfg({ alias: 'b64.txt' }, {}));
  mark = a.lines.length;
  await hup(a);
  await a.waitLog(/snapshot written/, { from: mark });
  assert.equal(tryRead(fx.out, 'b64.txt'), Buffer.from('plain-from-base64').toString('base64'));
  assert.equal(tryRead(fx.out, 'b64'), null);
  assert.equal(tryRead(fx.out, 'hx'), Buffer.from('plain-from-hex').toString('hex'));
  assert.deepEqual(fx.d.kv.requests(), []);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('a reload adding objects that read secrets already held writes them from the values held: no GET, then one GET serves all', async (t) => {
  const fx = await setup(t);
  fx.set('api', Buffer.from('api-value').toString('base64'));
  fx.set('db', 'db-v1');
  const cfgPath = fx.write(fx.config([{ name: 'api' }, { name: 'db' }], { interval: '1h' }));
  const a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  fx.d.kv.clearRequests();

  // Two new outputs of "api" (one decoding it), one of "db" under a new name.
  fx.write(fx.config([{ name: 'api' }, { name: 'db' }, { name: 'api', alias: 'api-copy' },
    { name: 'api', alias: 'api.txt', encoding: 'base64' }, { name: 'db', alias: 'db-copy' }], { interval: '1h' }));
  let mark = a.lines.length;
  await hup(a);
  await a.waitLog(/snapshot written/, { from: mark });
  assert.equal(tryRead(fx.out, 'api-copy'), Buffer.from('api-value').toString('base64'));
  assert.equal(tryRead(fx.out, 'api.txt'), 'api-value');
  assert.equal(tryRead(fx.out, 'db-copy'), 'db-v1');
  assert.deepEqual(fx.d.kv.requests(), []);

  // SIGUSR1: one GET per secret, for every object that reads it.
  fx.set('api', Buffer.from('api-value-2').toString('base64'));
  fx.set('db', 'db-v2');
  a.kill('SIGUSR1');
  await until(() => tryRead(fx.out, 'api.txt') === 'api-value-2' && tryRead(fx.out, 'db-copy') === 'db-v2',
    { what: 'new outputs updated' });
  assert.equal(tryRead(fx.out, 'api-copy'), Buffer.from('api-value-2').toString('base64'));
  assert.equal(tryRead(fx.out, 'db'), 'db-v2');
  const gets = (p) => fx.d.kv.requests().filter((r) => r.path === p).length;
  assert.equal(gets('/secrets/api'), 1);
  assert.equal(gets('/secrets/db'), 1);

  // Dropping the first reader of a secret keeps its source: no GET.
  fx.d.kv.clearRequests();
  fx.write(fx.config([{ name: 'api', alias: 'api-copy' }, { name: 'db', alias: 'db-copy' }], { interval: '1h' }));
  mark = a.lines.length;
  await hup(a);
  await a.waitLog(/snapshot written/, { from: mark });
  assert.equal(tryRead(fx.out, 'api'), null);
  assert.equal(tryRead(fx.out, 'api-copy'), Buffer.from('api-value-2').toString('base64'));
  assert.equal(tryRead(fx.out, 'db-copy'), 'db-v2');
  assert.equal(tryRead(fx.out, 'db'), null);
  assert.deepEqual(fx.d.kv.requests(), []);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});
