'use strict';
// Key Vault polling: first sync, new versions, throttling, outages, and
// per-object errors, observed through the files and the double's request log.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setup } = require('./lib/setup');
const { until, sleep, tryRead, readOut } = require('./lib/akvd');

test('first sync writes every object in the AtomicWriter layout', async (t) => {
  const fx = await setup(t);
  const v1 = fx.set('db-password', 'hunter2-first');
  fx.set('db-user', 'app_user');
  const cfg = fx.config([
    { name: 'db-password', alias: 'password' },
    { name: 'db-user', alias: 'db/user', mode: '0400' },
  ]);
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);

  assert.equal(readOut(fx.out, 'password'), 'hunter2-first');
  assert.equal(readOut(fx.out, 'db/user'), 'app_user');
  // Layout: ..data -> ..<timestamp>, password -> ..data/password.
  const target = fs.readlinkSync(path.join(fx.out, '..data'));
  assert.match(target, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d{9}$/);
  assert.equal(fs.readlinkSync(path.join(fx.out, 'password')), '..data/password');
  assert.equal(fs.readlinkSync(path.join(fx.out, 'db')), '..data/db');
  // Modes: default 0440, configured 0400; never world-readable.
  assert.equal(fs.statSync(path.join(fx.out, 'password')).mode & 0o777, 0o440);
  assert.equal(fs.statSync(path.join(fx.out, 'db/user')).mode & 0o777, 0o400);
  // The log names the object and its version.
  assert.match(a.log(), new RegExp(`object fetched.*db-password.*${v1}`));
  assert.equal((await a.stop()).code, 0);
  fx.assertNoSecretsLogged(a);
});

test('a new version is picked up within an interval; one TLS connection', async (t) => {
  const fx = await setup(t);
  fx.set('api-key', 'key-version-one');
  fx.set('other', 'other-value');
  const a = fx.start(fx.write(fx.config([{ name: 'api-key' }, { name: 'other' }])));
  await a.waitLog(/snapshot written/);
  const first = fs.readlinkSync(path.join(fx.out, '..data'));
  // Two quiet cycles: nothing is rewritten when the version is unchanged.
  await until(() => a.count(/object unchanged.*api-key/) >= 2, { what: 'two polls' });
  assert.equal(fs.readlinkSync(path.join(fx.out, '..data')), first);
  assert.equal(a.count(/snapshot written/), 1);

  const v2 = fx.set('api-key', 'key-version-two');
  await until(() => tryRead(fx.out, 'api-key') === 'key-version-two', { what: 'rotation' });
  assert.equal(readOut(fx.out, 'other'), 'other-value');
  assert.match(a.log(), new RegExp(`object updated.*api-key.*version=${v2}`));
  // A reader that resolved ..data/ before the swap still reads its whole
  // snapshot: the replaced one stays until the next change and at least 5 s.
  assert.equal(fs.readFileSync(path.join(fx.out, first, 'api-key'), 'utf8'), 'key-version-one');
  assert.equal(fs.readFileSync(path.join(fx.out, first, 'other'), 'utf8'), 'other-value');
  const second = fs.readlinkSync(path.join(fx.out, '..data'));
  await new Promise((r) => setTimeout(r, 5500));
  assert.ok(fs.existsSync(path.join(fx.out, first)), 'kept until the next change');
  fx.set('api-key', 'key-version-three');
  await until(() => tryRead(fx.out, 'api-key') === 'key-version-three', { what: 'second rotation' });
  // Then the first is removed (replaced over 5 s ago); the second stays.
  await until(() => !fs.existsSync(path.join(fx.out, first)), { what: 'the first snapshot removed' });
  assert.ok(fs.existsSync(path.join(fx.out, second)), 'the snapshot just replaced stays');
  // Every request of every cycle went over one kept-alive TLS connection.
  assert.equal(fx.d.kv.tlsConnections(), 1);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('429 with Retry-After: no request to that object before it elapses', async (t) => {
  const fx = await setup(t);
  fx.set('throttled', 'value-throttled');
  fx.set('fine', 'value-fine');
  const a = fx.start(fx.write(fx.config([{ name: 'throttled' }, { name: 'fine' }])));
  await a.waitLog(/snapshot written/);
  fx.d.kv.fault({ match: '/secrets/throttled', status: 429, retryAfter: 4, times: 1 });
  fx.d.kv.clearRequests();
  const v2 = fx.set('throttled', 'value-throttled-2');
  await until(() => fx.d.kv.requests().some((r) => r.path.startsWith('/secrets/throttled') && r.status === 429),
    { what: 'the throttled response' });
  await until(() => tryRead(fx.out, 'throttled') === 'value-throttled-2',
    { timeout: 20000, what: 'recovery after Retry-After' });
  const reqs = fx.d.kv.requests().filter((r) => r.path.startsWith('/secrets/throttled'));
  const t429 = reqs.find((r) => r.status === 429).time;
  const next = reqs.find((r) => r.time > t429);
  assert.ok(next.time - t429 >= 3900, `retried ${next.time - t429} ms after a 4 s Retry-After`);
  // The other object kept its 1 s cadence meanwhile.
  const fine = fx.d.kv.requests().filter((r) => r.path.startsWith('/secrets/fine') &&
    r.time > t429 && r.time < next.time);
  assert.ok(fine.length >= 2, `other object polled ${fine.length} times during the wait`);
  assert.match(a.log(), /object fetch failed.*throttled.*HTTP 429 Throttled/);
  assert.match(a.log(), new RegExp(`object recovered.*throttled.*${v2}`));
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('an outage keeps the last good files and recovers', async (t) => {
  const fx = await setup(t);
  fx.set('s1', 'before-outage-1');
  fx.set('s2', 'before-outage-2');
  const a = fx.start(fx.write(fx.config([{ name: 's1' }, { name: 's2' }])));
  await a.waitLog(/snapshot written/);
  const snap = fs.readlinkSync(path.join(fx.out, '..data'));

  fx.d.kv.fault({ match: '/secrets/', status: 503 });
  await a.waitLog(/object fetch failed.*HTTP 503/);
  fx.d.kv.clearFaults();
  fx.d.kv.fault({ match: '/secrets/', reset: true });
  const mark = a.lines.length;
  await a.waitLog(/object fetch failed.*request failed/, { from: mark });
  // Through both kinds of failure the files stayed exactly as they were.
  assert.equal(fs.readlinkSync(path.join(fx.out, '..data')), snap);
  assert.equal(readOut(fx.out, 's1'), 'before-outage-1');
  assert.equal(readOut(fx.out, 's2'), 'before-outage-2');

  fx.set('s1', 'after-outage-1');
  fx.d.kv.clearFaults();
  await until(() => tryRead(fx.out, 's1') === 'after-outage-1',
    { timeout: 40000, what: 'recovery' });
  assert.equal(readOut(fx.out, 's2'), 'before-outage-2');
  assert.match(a.log(), /object recovered.*s1/);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test("one object's 403 and another's 404 do not block the others", async (t) => {
  const fx = await setup(t);
  fx.set('ok-secret', 'ok-value');
  fx.set('denied', 'denied-value');
  fx.d.kv.deny('denied');
  const a = fx.start(fx.write(fx.config([
    { name: 'ok-secret' }, { name: 'denied' }, { name: 'missing' },
  ])));
  await a.waitLog(/snapshot written/);
  assert.equal(readOut(fx.out, 'ok-secret'), 'ok-value');
  assert.equal(tryRead(fx.out, 'denied'), null);
  assert.equal(tryRead(fx.out, 'missing'), null);
  const log = a.log();
  assert.match(log, /object fetch failed.*object=denied.*HTTP 403 Forbidden\/ForbiddenByRbac/);
  assert.match(log, /object fetch failed.*object=missing.*HTTP 404 SecretNotFound/);
  // The others keep updating.
  fx.set('ok-secret', 'ok-value-2');
  await until(() => tryRead(fx.out, 'ok-secret') === 'ok-value-2', { what: 'update' });
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('malformed and oversized responses are errors that keep the file', async (t) => {
  const fx = await setup(t);
  fx.set('doc', 'good-document');
  const cfg = fx.config([{ name: 'doc' }], { max_response_size: 4096 });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  fx.d.kv.fault({ match: '/secrets/doc', malformed: true, times: 1 });
  await a.waitLog(/object fetch failed.*doc.*bad response/);
  fx.d.kv.fault({ match: '/secrets/doc', oversize: 100000, times: 1 });
  await a.waitLog(/object fetch failed.*doc.*larger than 4096/);
  assert.equal(readOut(fx.out, 'doc'), 'good-document');
  await a.stop();
});

test('--log-format json: one JSON object per line, with the object and version', async (t) => {
  const fx = await setup(t);
  const v = fx.set('j', 'json-log-value');
  const a = fx.start(fx.write(fx.config([{ name: 'j' }, { name: 'absent' }])), ['--log-format', 'json']);
  await a.waitLog(/snapshot written/);
  await a.stop();
  const recs = a.lines.filter((l) => l.trim()).map((l) => JSON.parse(l));
  assert.ok(recs.every((r) => typeof r.time === 'string' && typeof r.level === 'string' && typeof r.msg === 'string'),
    a.log());
  const fetched = recs.find((r) => r.msg === 'object fetched');
  assert.equal(fetched.object, 'j');
  assert.equal(fetched.version, v);
  const failed = recs.find((r) => r.msg === 'object fetch failed');
  assert.equal(failed.object, 'absent');
  assert.match(failed.reason, /HTTP 404 SecretNotFound/);
  fx.assertNoSecretsLogged(a);
});

test('--log-level warn hides routine lines but not failures', async (t) => {
  const fx = await setup(t);
  fx.set('w', 'warn-level-value');
  const cfgPath = fx.write(fx.config([{ name: 'w' }, { name: 'absent' }]));
  const a = new (require('./lib/akvd').Akvd)(['--config', cfgPath, '--log-level', 'warn']);
  fx.procs.push(a);
  await until(() => tryRead(fx.out, 'w') === 'warn-level-value', { what: 'first sync' });
  await a.waitLog(/object fetch failed.*absent/);
  await a.stop();
  assert.equal(a.count(/ info /), 0, a.log());
  assert.equal(a.count(/ debug /), 0, a.log());
});

test('SIGHUP removing tls.ca_file: new connections no longer trust its anchors', async (t) => {
  const fx = await setup(t);
  fx.set('ca', 'ca-value');
  const cfg = fx.config([{ name: 'ca' }], { interval: '1s' });
  const p = fx.write(cfg);
  const a = fx.start(p);
  await until(() => tryRead(fx.out, 'ca') === 'ca-value', { what: 'the first fetch' });
  delete cfg.tls;
  fx.write(cfg);
  const mark = a.lines.length;
  a.kill('SIGHUP');
  await a.waitLog(/configuration applied/, { from: mark });
  // Drop the kept-alive connection: the next request must connect anew.
  fx.d.kv.fault({ match: '/secrets/ca', reset: true, times: 1 });
  await a.waitLog(/object fetch failed object=ca .*certificate/i, { from: mark, timeout: 30000 });
  assert.equal(readOut(fx.out, 'ca'), 'ca-value', 'the file is kept');
  await a.stop();
});
