'use strict';
// The health endpoint ("listen"): /healthz, /readyz through the first
// snapshot and a long outage, /metrics parsed as Prometheus text with
// counters moving across a rotation, a throttled response and a
// notification; listener errors at start-up and on reload.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const parsePrometheus = require('parse-prometheus-text-format');
const { setup } = require('./lib/setup');
const { until, runAkvd, tryRead, healthEndpoint: endpoint, httpGet: get } = require('./lib/akvd');

const RECORD = path.join(__dirname, 'lib', 'record.js');

// { name: [{ labels, value }] } from a /metrics body; every family has
// HELP and TYPE.
function metrics(text) {
  const out = {};
  for (const f of parsePrometheus(text)) {
    assert.ok(f.help && f.type, `${f.name} has HELP and TYPE`);
    out[f.name] = f;
  }
  return out;
}

function value(m, name, labels = {}) {
  const f = m[name];
  if (!f) return undefined;
  const s = f.metrics.find((x) => Object.entries(labels).every(([k, v]) => (x.labels || {})[k] === v));
  return s ? Number(s.value) : undefined;
}

// The sample count of the request histogram for ${target}.  The parser
// folds every labelled series of a histogram into one, so its _count lines
// are read here; their buckets must be cumulative and end with +Inf.
function histogramCount(text, target) {
  const rx = new RegExp(`^akvd_request_duration_seconds_bucket\\{target="${target}",le="([^"]+)"\\} (\\d+)$`, 'gm');
  const buckets = [...text.matchAll(rx)].map((x) => [x[1], Number(x[2])]);
  assert.equal(buckets.at(-1)[0], '+Inf');
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i][1] >= buckets[i - 1][1], 'cumulative buckets');
  const c = new RegExp(`^akvd_request_duration_seconds_count\\{target="${target}"\\} (\\d+)$`, 'm').exec(text);
  assert.equal(Number(c[1]), buckets.at(-1)[1]);
  return Number(c[1]);
}

async function scrape(base) {
  const r = await get(base, '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/plain; version=0\.0\.4/);
  return { text: r.body, m: metrics(r.body) };
}

test('/readyz: 503 before the first snapshot, 200 after, 503 during a long outage, 200 after recovery',
  async (t) => {
    const fx = await setup(t);
    fx.set('db', 'ready-v1');
    fx.set('extra', 'ready-extra');
    // Key Vault fails until the test has seen /readyz say 503.
    fx.d.kv.fault({ match: '/secrets/db', status: 503 });
    const cfg = fx.config([{ name: 'db' }, { name: 'extra', optional: true }], {
      interval: '1s', listen: '127.0.0.1:0', ready_max_failed_intervals: 2,
    });
    const a = fx.start(fx.write(cfg));
    const base = await endpoint(a);

    const h = await get(base, '/healthz');
    assert.equal(h.status, 200);
    assert.equal(h.body, 'ok\n');
    await a.waitLog(/object fetch failed object=db .*HTTP 503/);
    let r = await get(base, '/readyz');
    assert.equal(r.status, 503);
    assert.match(r.body, /^not ready: (no snapshot written yet|waiting for 1 of 1 objects: db: HTTP 503 ServiceUnavailable)/);
    assert.equal(value((await scrape(base)).m, 'akvd_ready'), 0);

    fx.d.kv.clearFaults();
    a.kill('SIGUSR1');
    await until(async () => (await get(base, '/readyz')).status === 200,
      { timeout: 40000, what: '/readyz 200 after the first snapshot' });
    r = await get(base, '/readyz');
    assert.equal(r.body, 'ready\n');
    assert.equal(fs.readFileSync(path.join(fx.out, 'db'), 'utf8'), 'ready-v1');
    assert.equal(value((await scrape(base)).m, 'akvd_ready'), 1);

    // A long outage of the required object: not ready once it has been
    // failing for more than 2 intervals; the optional one does not count.
    fx.d.kv.fault({ match: '/secrets/db', status: 503 });
    fx.d.kv.fault({ match: '/secrets/extra', status: 403, body: { error: { code: 'Forbidden',
      message: 'denied', innererror: { code: 'ForbiddenByRbac' } } } });
    await until(async () => (await get(base, '/readyz')).status === 503,
      { timeout: 40000, what: '/readyz 503 during the outage' });
    r = await get(base, '/readyz');
    assert.match(r.body, /^not ready: db: failing for \d+s: HTTP 503 ServiceUnavailable\n$/);
    assert.equal((await get(base, '/healthz')).status, 200, 'alive all along');
    assert.equal(fs.readFileSync(path.join(fx.out, 'db'), 'utf8'), 'ready-v1', 'the file is kept');
    const { m } = await scrape(base);
    assert.ok(value(m, 'akvd_fetch_failures_total', { object: 'db', reason: 'server_error' }) >= 2);
    assert.ok(value(m, 'akvd_fetch_failures_total', { object: 'extra', reason: 'forbidden' }) >= 1);
    assert.ok(value(m, 'akvd_object_consecutive_failures', { object: 'db' }) >= 1);

    fx.d.kv.clearFaults();
    a.kill('SIGUSR1');
    await until(async () => (await get(base, '/readyz')).status === 200,
      { timeout: 40000, what: '/readyz 200 after recovery' });
    assert.match(a.log(), /object recovered object=db/);
    await a.stop();
    fx.assertNoSecretsLogged(a);
  });

test('/readyz: 503 when no access token can be had for long, 200 again after', async (t) => {
  // Tokens live 20 s: renewed at 10 s, unusable 10 s before expiry.
  const fx = await setup(t, { accessTokenLifetime: 20 });
  fx.set('tok', 'token-outage');
  const cfg = fx.config([{ name: 'tok' }], { interval: '1s', timeout: '2s', listen: '127.0.0.1:0',
    ready_max_failed_intervals: 1 });
  const a = fx.start(fx.write(cfg));
  const base = await endpoint(a);
  await until(async () => (await get(base, '/readyz')).status === 200, { what: '/readyz 200' });
  fx.d.entra.fault({ status: 500 });
  await until(async () => (await get(base, '/readyz')).status === 503,
    { timeout: 40000, what: '/readyz 503 without a token' });
  const r = await get(base, '/readyz');
  assert.match(r.body, /^not ready: tok: no successful fetch for \d+s: no access token\n$/);
  assert.match(a.log(), /token request/);
  const { m } = await scrape(base);
  assert.ok(value(m, 'akvd_token_requests_total', { result: 'failed' }) >= 1);
  assert.equal(value(m, 'akvd_ready'), 0);

  fx.d.entra.clearFaults();
  fx.d.kubelet.rotate();  // a fresh projected token: retried at once
  await until(async () => (await get(base, '/readyz')).status === 200,
    { timeout: 60000, what: '/readyz 200 with a token again' });
  await a.stop();
});

test('/metrics: counters move across a rotation, a throttled response and a notification', async (t) => {
  const fx = await setup(t);
  fx.set('db', 'metrics-v1');
  const execRec = path.join(fx.dir, 'exec.record');
  const cfg = fx.config([{ name: 'db', alias: 'db/password' }], {
    interval: '1h', debounce: '100ms', listen: '127.0.0.1:0',
    notify: [{ exec: [process.execPath, RECORD, execRec] }],
  });
  const a = fx.start(fx.write(cfg));
  const base = await endpoint(a);
  await a.waitLog(/snapshot written/);
  const db = { object: 'db', alias: 'db/password' };

  let { m, text } = await scrape(base);
  assert.equal(value(m, 'akvd_fetches_total', db), 1);
  assert.equal(value(m, 'akvd_object_updates_total', db), 1);
  assert.equal(value(m, 'akvd_object_consecutive_failures', db), 0);
  assert.ok(value(m, 'akvd_object_last_success_timestamp_seconds', db) >= Math.floor(Date.now() / 1000) - 60);
  assert.equal(value(m, 'akvd_snapshots_total'), 1);
  assert.equal(value(m, 'akvd_objects'), 1);
  assert.equal(value(m, 'akvd_token_requests_total', { result: 'ok' }), 1);
  assert.ok(value(m, 'akvd_token_expiry_timestamp_seconds') > Date.now() / 1000);
  assert.equal(histogramCount(text, 'keyvault'), 1);
  assert.equal(histogramCount(text, 'identity'), 1);
  assert.equal(value(m, 'akvd_requests_total', { target: 'keyvault', code: '2xx' }), 1);
  assert.equal(value(m, 'akvd_throttled_total', { target: 'keyvault' }), 0);
  assert.equal(value(m, 'akvd_notifications_sent_total', { kind: 'exec' }), 0);
  assert.equal(value(m, 'akvd_ready'), 1);
  assert.equal(m.akvd_fetches_total.type, 'COUNTER');
  assert.equal(m.akvd_request_duration_seconds.type, 'HISTOGRAM');
  assert.equal(m.akvd_build_info.metrics[0].labels.version.length > 0, true);
  assert.ok(value(m, 'process_resident_memory_bytes') > 1024 * 1024);
  assert.ok(value(m, 'process_open_fds') >= 3);
  assert.ok(value(m, 'process_max_fds') >= value(m, 'process_open_fds'));
  assert.equal(value(m, 'process_start_time_seconds'), value(m, 'akvd_start_time_seconds'));

  // A rotation: one more fetch, one more update, one notification.
  fx.set('db', 'metrics-v2');
  let mark = a.lines.length;
  a.kill('SIGUSR1');
  await a.waitLog(/notification finished notify="exec .*" result="exit 0"/, { from: mark });
  ({ m } = await scrape(base));
  assert.equal(value(m, 'akvd_fetches_total', db), 2);
  assert.equal(value(m, 'akvd_object_updates_total', db), 2);
  assert.equal(value(m, 'akvd_snapshots_total'), 2);
  assert.equal(value(m, 'akvd_notifications_sent_total', { kind: 'exec' }), 1);
  assert.equal(value(m, 'akvd_notifications_failed_total', { kind: 'exec' }), 0);

  // Throttled once (Retry-After: 1), then fetched again.
  fx.d.kv.fault({ match: '/secrets/db', status: 429, retryAfter: 1, times: 1 });
  mark = a.lines.length;
  a.kill('SIGUSR1');
  await a.waitLog(/object fetch failed object=db .*HTTP 429 Throttled/, { from: mark });
  await a.waitLog(/object recovered object=db/, { from: mark });
  ({ m, text } = await scrape(base));
  assert.equal(value(m, 'akvd_throttled_total', { target: 'keyvault' }), 1);
  assert.equal(value(m, 'akvd_fetch_failures_total', { ...db, reason: 'throttled' }), 1);
  assert.equal(value(m, 'akvd_requests_total', { target: 'keyvault', code: '4xx' }), 1);
  assert.equal(value(m, 'akvd_fetches_total', db), 4);
  assert.equal(value(m, 'akvd_object_updates_total', db), 2, 'same version: no update');
  assert.equal(value(m, 'akvd_object_consecutive_failures', db), 0);
  assert.equal(histogramCount(text, 'keyvault'), 4);

  // Nothing secret in the metrics.
  for (const v of ['metrics-v1', 'metrics-v2']) assert.ok(!text.includes(v));
  assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{10,}/);
  await a.stop();
});

// A port held by the test: akvd cannot listen there.
async function holdPort(t) {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => srv.close());
  return srv.address().port;
}

test('a listen address in use: exit 1 at start-up; on reload the old listener is kept', async (t) => {
  const fx = await setup(t);
  fx.set('x', 'listen-v1');
  const port = await holdPort(t);
  const busy = fx.write(fx.config([{ name: 'x' }], { listen: `127.0.0.1:${port}` }), 'busy.json');
  const r = await runAkvd(['--config', busy]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`cannot listen listen=127\\.0\\.0\\.1:${port} error="Address already in use"`));

  const cfgPath = fx.write(fx.config([{ name: 'x' }], { interval: '1h', listen: '127.0.0.1:0' }));
  const a = fx.start(cfgPath);
  const base = await endpoint(a);
  await a.waitLog(/snapshot written/);

  // Reload onto the busy port: refused, the old listener still answers.
  fx.write(fx.config([{ name: 'x' }], { interval: '1h', listen: `127.0.0.1:${port}` }));
  let mark = a.lines.length;
  a.kill('SIGHUP');
  await a.waitLog(/the new "listen" address is not in use; the previous listener \(if any\) is kept/, { from: mark });
  assert.equal((await get(base, '/healthz')).status, 200);

  // Listening turned off, then on again at a new address.
  fx.write(fx.config([{ name: 'x' }], { interval: '1h' }));
  mark = a.lines.length;
  a.kill('SIGHUP');
  await a.waitLog(/health endpoint stopped/, { from: mark });
  await assert.rejects(fetch(`${base}/healthz`));
  fx.write(fx.config([{ name: 'x' }], { interval: '1h', listen: '127.0.0.1:0' }));
  mark = a.lines.length;
  a.kill('SIGHUP');
  const base2 = await endpoint(a, mark);
  assert.equal((await get(base2, '/readyz')).status, 200);
  assert.equal((await get(base2, '/nope')).status, 404);
  const post = await fetch(`${base2}/metrics`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  const { m } = await scrape(base2);
  // The reload onto the busy port was refused as a whole (not counted ok).
  assert.equal(value(m, 'akvd_config_reloads_total', { result: 'ok' }), 2);
  assert.equal(value(m, 'akvd_config_reloads_total', { result: 'failed' }), 1);
  assert.equal(value(m, 'akvd_config_last_reload_successful'), 1);
  await a.stop();
});

test('":PORT" listens on every address; another address on the same port re-binds it', async (t) => {
  const fx = await setup(t);
  fx.set('y', 'listen-any');
  const cfgPath = fx.write(fx.config([{ name: 'y' }], { interval: '1h', listen: ':0' }));
  const a = fx.start(cfgPath);
  const { line } = await a.waitLog(/health endpoint listening listen=:0 address=(\[::\]|0\.0\.0\.0):\d+/);
  const port = Number(/address=\S+:(\d+)/.exec(line)[1]);
  await a.waitLog(/snapshot written/);
  assert.equal((await get(`http://127.0.0.1:${port}`, '/readyz')).status, 200, 'reachable over IPv4');

  // The same port on loopback only: the old listener makes way.
  fx.write(fx.config([{ name: 'y' }], { interval: '1h', listen: `127.0.0.1:${port}` }));
  const mark = a.lines.length;
  a.kill('SIGHUP');
  await a.waitLog(/closing the old listener to reuse its port listen=:0/, { from: mark });
  await a.waitLog(new RegExp(`health endpoint listening listen=127\\.0\\.0\\.1:${port} address=127\\.0\\.0\\.1:${port}`),
    { from: mark });
  assert.equal((await get(`http://127.0.0.1:${port}`, '/healthz')).status, 200);
  assert.doesNotMatch(a.log(), /not in use; the previous listener/);
  await a.stop();
});

test('/readyz: 200 with a select and a bundle configured', async (t) => {
  const fx = await setup(t);
  fx.set('db', 'db-v1');
  fx.set('app-a', 'a-v1', { tags: { env: 'prod' } });
  fx.set('KEY', 'key-v1');
  const cfg = fx.config([{ name: 'db' }], {
    interval: '1s', timeout: '2s', listen: '127.0.0.1:0', ready_max_failed_intervals: 1,
    select: [{ prefix: 'app-', dir: 'sel' }],
    bundles: [{ path: 'app.env', format: 'dotenv', objects: [{ name: 'KEY' }] }],
  });
  const a = fx.start(fx.write(cfg));
  const base = await endpoint(a);
  await until(() => tryRead(fx.out, 'sel/app-a') === 'a-v1' && tryRead(fx.out, 'app.env') !== null,
    { timeout: 20000, what: 'the selected secret and the bundle' });
  await until(async () => (await get(base, '/readyz')).status === 200,
    { timeout: 20000, what: '/readyz 200 with select and bundles' });
  // Still ready after more than the staleness window (2 intervals + 10%
  // + timeout) of quiet cycles in which the selected secret is not
  // fetched again: the list confirms it.
  // With interval 1s and timeout 2s that window is 4.2s: wait for 8
  // list cycles without a GET of the selected secret.
  fx.d.kv.clearRequests();
  await until(() => fx.d.kv.requests().filter((r) => r.path === '/secrets').length >= 8,
    { timeout: 60000, what: 'eight list cycles' });
  assert.equal(fx.d.kv.requests().filter((r) => r.path === '/secrets/app-a').length, 0);
  const r = await get(base, '/readyz');
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, 'ready\n');
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('idle connections from one client do not take /healthz down', async (t) => {
  const fx = await setup(t);
  fx.set('db', 'idle-v1');
  const a = fx.start(fx.write(fx.config([{ name: 'db' }], { interval: '1h', listen: '127.0.0.1:0' })));
  const base = await endpoint(a);
  await a.waitLog(/snapshot written/);
  const port = Number(new URL(base).port);
  // 20 connections from 127.0.0.2 that never send a request.
  const idle = [];
  t.after(() => { for (const s of idle) s.destroy(); });
  for (let i = 0; i < 20; i++) {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
    s.on('error', () => {});
    idle.push(s);
  }
  await until(() => idle.every((s) => s.readyState === 'open' || s.destroyed), { what: 'the idle connections' });
  // The probe (kubelet: another address) gets its answer within a probe's
  // timeout, not once the idle ones time out (10 s before the fix).
  const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(4000) });
  assert.equal(r.status, 200);
  await a.stop();
});

test('a reload that cannot bind its new "listen" address changes nothing: objects, notifications, token, listener', async (t) => {
  const fx = await setup(t);
  fx.set('x', 'bind-v1');
  fx.set('y', 'bind-y1');
  const calls = [];
  const srv = http.createServer((req, res) => {
    calls.push(req.url);
    res.writeHead(204);
    res.end();
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => srv.close());
  const url = `http://127.0.0.1:${srv.address().port}/refresh`;
  const port = await holdPort(t);
  const cfgPath = fx.write(fx.config([{ name: 'x' }], { interval: '1h', debounce: '100ms',
    listen: '127.0.0.1:0', notify: [{ http: url }] }));
  const a = fx.start(cfgPath);
  const base = await endpoint(a);
  await a.waitLog(/snapshot written/);
  const tokens = fx.d.entra.requests().length;
  fx.d.kv.clearRequests();

  // Everything changes, and the new listener cannot be bound.
  const other = fx.config([{ name: 'x', alias: 'x-renamed' }, { name: 'y' }], { interval: '2h',
    listen: `127.0.0.1:${port}` });
  other.auth.client_id = 'another-client';
  fx.write(other);
  const mark = a.lines.length;
  a.kill('SIGHUP');
  await a.waitLog(/configuration not reloaded: still running on the previous one/, { from: mark });
  const after = a.lines.slice(mark).join('\n');
  assert.match(after, /the new "listen" address is not in use/);
  assert.doesNotMatch(after, /configuration applied|health endpoint (stopped|listening)/);
  assert.equal((await get(base, '/healthz')).status, 200);

  // The old configuration is in force: a change of x is fetched with the
  // token held, written under its old name and notified to the old URL.
  fx.set('x', 'bind-v2');
  a.kill('SIGUSR1');
  await until(() => tryRead(fx.out, 'x') === 'bind-v2', { what: 'x rewritten' });
  await until(() => calls.length === 1, { what: 'the old notification' });
  assert.equal(tryRead(fx.out, 'x-renamed'), null);
  assert.equal(tryRead(fx.out, 'y'), null);
  const paths = fx.d.kv.requests().map((r) => r.path);
  assert.ok(paths.length > 0 && paths.every((p) => p.startsWith('/secrets/x')), paths.join(' '));
  assert.equal(fx.d.entra.requests().length, tokens, 'no token dropped or renewed');
  const { m } = await scrape(base);
  assert.equal(value(m, 'akvd_config_reloads_total', { result: 'failed' }), 1);
  assert.equal(value(m, 'akvd_config_last_reload_successful'), 0);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('/metrics: selected secrets and bundle members have their own series; a secret leaving the selection loses it', async (t) => {
  const fx = await setup(t);
  fx.set('db', 'db-v1');
  fx.set('app-a', 'a-v1');
  fx.set('app-b', 'b-v1');
  fx.set('KEY', 'key-v1');
  fx.set('OTHER', 'other-v1');
  // A failure of a selected secret is counted under its own name.
  fx.set('app-c', 'c-v1');
  fx.d.kv.fault({ match: '/secrets/app-c', status: 403 });
  const cfg = fx.config([{ name: 'db' }], {
    interval: '1h', listen: '127.0.0.1:0',
    select: [{ prefix: 'app-', dir: 'sel' }],
    bundles: [{ path: 'app.env', format: 'dotenv', objects: [{ name: 'KEY' }, { name: 'OTHER' }] }],
  });
  const a = fx.start(fx.write(cfg));
  const base = await endpoint(a);
  await until(() => tryRead(fx.out, 'sel/app-b') === 'b-v1' && tryRead(fx.out, 'app.env') !== null,
    { timeout: 20000, what: 'the selected secrets and the bundle' });
  let { m } = await scrape(base);
  for (const [object, alias] of [['db', 'db'], ['app-a', 'sel/app-a'], ['app-b', 'sel/app-b'],
    ['KEY', 'KEY'], ['OTHER', 'OTHER']]) {
    assert.equal(value(m, 'akvd_fetches_total', { object, alias }), 1, `${object} fetched once`);
    assert.equal(value(m, 'akvd_object_updates_total', { object, alias }), 1, `${object} updated once`);
  }
  assert.equal(value(m, 'akvd_objects'), 3, 'the configured objects');
  assert.equal(value(m, 'akvd_fetch_failures_total', { object: 'app-c', alias: 'sel/app-c', reason: 'forbidden' }), 1);
  assert.equal(value(m, 'akvd_object_consecutive_failures', { object: 'app-c', alias: 'sel/app-c' }), 1);

  // A secret that leaves the selection leaves /metrics.
  fx.d.kv.deleteSecret('app-b');
  const mark = a.lines.length;
  a.kill('SIGUSR1');
  await a.waitLog(/selected secret gone .*secret=app-b/, { from: mark });
  await a.waitLog(/snapshot written/, { from: mark });
  ({ m } = await scrape(base));
  assert.equal(value(m, 'akvd_fetches_total', { object: 'app-b', alias: 'sel/app-b' }), undefined);
  // SIGUSR1 fetched the others again: their series go on.
  assert.equal(value(m, 'akvd_fetches_total', { object: 'app-a', alias: 'sel/app-a' }), 2);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});
