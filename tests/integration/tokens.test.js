'use strict';
// Token responses as the identity endpoints really send them, and as a
// hostile or broken one might: every expires_on form Microsoft's libraries
// accept; absurd lifetimes that must neither loop nor stall; Retry-After
// from every endpoint honoured as a floor on the next attempt.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const { setup } = require('./lib/setup');
const { Akvd, runAkvd, until, tryRead, sleep } = require('./lib/akvd');

// Floors akvd promises (README "Access tokens"); the doubles' clocks see a
// request a little after akvd starts it, so gaps are compared with a
// little slack, and only ever as "not before".
const MIN_GAP_MS = 1000;
const SLACK_MS = 150;

function gaps(reqs) {
  return reqs.slice(1).map((r, i) => r.time - reqs[i].time);
}

function start(fx, cfg, env = {}) {
  const a = new Akvd(['--config', fx.write(cfg), '--log-level', 'debug'], { env });
  fx.procs.push(a);
  return a;
}

test('hostile token lifetimes from Entra ID: no request storm, no stall, a warning', async (t) => {
  const fx = await setup(t);
  // [expires_in as sent, whether akvd must fall back to its 10 minutes]
  const cases = [
    [0, true], [1.5, true], ['1', true], [3, false], [-5, true], ['-3600', true],
    ['9223372036854775807', true], [9223372036854775807, true], [1e300, true],
    ['soon', true], [undefined, true],
  ];
  for (const [expiresIn, fallback] of cases) {
    const what = JSON.stringify(expiresIn) ?? 'absent';
    fs.rmSync(fx.out, { recursive: true, force: true });
    fx.set('s', `value-${what}`);
    fx.d.entra.setTokenFields({ expires_in: expiresIn });
    const before = fx.d.entra.requests().length;
    const a = start(fx, fx.config([{ name: 's' }]));
    // A token is used: the file is written (an overflowing lifetime used to
    // drop the token at first use and never ask again).
    await until(() => tryRead(fx.out, 's') === `value-${what}`, { what: `the file with expires_in ${what}` });
    const t0 = Date.now();
    await sleep(3000);
    const window = (Date.now() - t0) / 1000;
    await a.stop();
    const reqs = fx.d.entra.requests().slice(before);
    // At most one request per MIN_GAP_MS whatever the lifetime (1.5 s used
    // to cause ~500 requests per second); one when akvd falls back.
    if (fallback) {
      assert.equal(reqs.length, 1, `expires_in ${what}: ${reqs.length} token requests`);
      assert.match(a.log(), /token lifetime not usable as sent .*lifetime="assumed 10m"/, what);
      assert.match(a.log(), /access token acquired .*expires_in=600 renew_in=300/, what);
    } else {
      assert.ok(reqs.length >= 2, `a 3 s token is renewed (${reqs.length} requests)`);
      assert.ok(reqs.length <= window + 3, `expires_in ${what}: ${reqs.length} requests in ${window} s`);
      assert.doesNotMatch(a.log(), /token lifetime not usable/);
    }
    for (const g of gaps(reqs)) assert.ok(g >= MIN_GAP_MS - SLACK_MS, `expires_in ${what}: gap ${g} ms`);
    fx.assertNoSecretsLogged(a);
  }
});

test('hostile refresh_in: ignored with a warning, renewal as usual', async (t) => {
  const fx = await setup(t);
  fx.set('r', 'refresh-value');
  for (const refreshIn of [0, -1, 'x', 1e300, '9223372036854775807']) {
    fx.d.entra.setTokenFields({ refresh_in: refreshIn });
    const before = fx.d.entra.requests().length;
    const a = start(fx, fx.config([{ name: 'r' }]));
    await a.waitLog(/access token acquired .*expires_in=3600 renew_in=3300/);
    await a.waitLog(/token lifetime not usable as sent .*problem="\\"refresh_in\\" is .*: ignored" lifetime="as sent"/);
    await sleep(1500);
    await a.stop();
    assert.equal(fx.d.entra.requests().length - before, 1, `refresh_in ${JSON.stringify(refreshIn)}`);
  }
});

test('App Service and IMDS: expires_on in every form seen in production', async (t) => {
  const fx = await setup(t);
  fx.set('as', 'app-service-value');
  const pad = (n) => String(n).padStart(2, '0');
  const net = (d, ampm) => {
    const h = d.getUTCHours();
    const hh = ampm ? `${h % 12 || 12}` : pad(h);
    return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${hh}:${pad(d.getUTCMinutes())}:` +
      `${pad(d.getUTCSeconds())}${ampm ? (h < 12 ? ' AM' : ' PM') : ''} +00:00`;
  };
  const at = (now, life) => new Date((now + life) * 1000);
  const forms = {
    'unix string': (now, life) => String(now + life),
    'unix number': (now, life) => now + life,
    'ISO 8601, 7 fraction digits, offset': (now, life) => at(now, life).toISOString()
      .replace(/\.\d+Z$/, '.0000000+00:00'),
    'ISO 8601 Z': (now, life) => at(now, life).toISOString(),
    'ISO 8601 +02:00': (now, life) => {
      const d = new Date((now + life + 7200) * 1000);
      return d.toISOString().replace(/\.\d+Z$/, '+02:00');
    },
    '.NET on Windows (AM/PM)': (now, life) => net(at(now, life), true),
    '.NET on Linux (24 h)': (now, life) => net(at(now, life), false),
    'RFC 1123': (now, life) => at(now, life).toUTCString(),
  };
  const env = { IDENTITY_ENDPOINT: fx.d.identityEndpoint, IDENTITY_HEADER: fx.d.identityHeader };
  for (const [name, fn] of Object.entries(forms)) {
    fx.d.appService.setTokenFields({ expires_on: fn });
    fs.rmSync(fx.out, { recursive: true, force: true });
    const r = await runAkvd(['--once', '--log-level', 'debug', '-c', fx.write(fx.config([{ name: 'as' }],
      { auth: { method: 'app_service' } }))], { env });
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(tryRead(fx.out, 'as'), 'app-service-value');
    assert.match(r.stderr, /access token acquired method=app_service .*expires_in=(3599|3600) /, name);
    assert.doesNotMatch(r.stderr, /token lifetime not usable|bad token response/, name);
  }
  // IMDS without expires_in: expires_on alone, as a date.
  fx.d.imds.setTokenFields({ expires_in: undefined, expires_on: forms['ISO 8601, 7 fraction digits, offset'] });
  fs.rmSync(fx.out, { recursive: true, force: true });
  const r = await runAkvd(['--once', '--log-level', 'debug', '-c', fx.write(fx.config([{ name: 'as' }],
    { auth: { method: 'managed_identity', imds_endpoint: fx.d.imdsUrl } }))]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /access token acquired method=managed_identity .*expires_in=(3599|3600) /);
  // A form nobody can read: a working token and a warning, not a loop.
  fx.d.appService.setTokenFields({ expires_on: 'the day after tomorrow' });
  fs.rmSync(fx.out, { recursive: true, force: true });
  const u = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'as' }],
    { auth: { method: 'app_service' } }))], { env });
  assert.equal(u.code, 0, u.stderr);
  assert.match(u.stderr, /token lifetime not usable as sent method=app_service .*"expires_on\\" is not a number of seconds or a date \(the day after tomorrow\)" lifetime="assumed 10m"/);
  assert.ok(!/eyJ/.test(u.stderr));
});

// The first attempt is refused with Retry-After; the next must not come sooner.
async function assertRetryAfterHonoured(reqs, seconds, what) {
  assert.ok(reqs.length >= 2, `${what}: ${reqs.length} requests`);
  const gap = reqs[1].time - reqs[0].time;
  assert.ok(gap >= seconds * 1000 - SLACK_MS, `${what}: retried ${gap} ms after a ${seconds} s Retry-After`);
}

test('Retry-After from Entra ID (seconds or HTTP date) is a floor on the next token request', async (t) => {
  const fx = await setup(t);
  fx.set('e', 'entra-retry-value');
  const cases = [
    ['seconds', () => '4', 4],
    // HTTP dates have whole seconds: the floor is at least 3 s of these 4.
    ['HTTP date', () => new Date(Date.now() + 4000).toUTCString(), 3],
  ];
  for (const [what, header, floor] of cases) {
    fs.rmSync(fx.out, { recursive: true, force: true });
    fx.d.entra.clearFaults();
    fx.d.entra.fault({ status: 429, aadsts: 50196, description: 'The server terminated an operation because it ' +
      'encountered a client request loop.', headers: { 'Retry-After': header() }, times: 1 });
    const before = fx.d.entra.requests().length;
    const a = start(fx, fx.config([{ name: 'e' }]));
    await until(() => tryRead(fx.out, 'e') === 'entra-retry-value', { timeout: 20000, what: `sync (${what})` });
    await a.stop();
    const reqs = fx.d.entra.requests().slice(before);
    assert.deepEqual(reqs.map((r) => r.status), [429, 200], what);
    await assertRetryAfterHonoured(reqs, floor, `Entra ${what}`);
    assert.match(a.log(), /token request refused by Entra ID status=429 code=AADSTS50196/);
  }
});

test('Retry-After from IMDS and the App Service identity endpoint', async (t) => {
  const fx = await setup(t);
  fx.set('m', 'mi-retry-value');
  const env = { IDENTITY_ENDPOINT: fx.d.identityEndpoint, IDENTITY_HEADER: fx.d.identityHeader };
  const cases = [
    ['IMDS 429', fx.d.imds, { method: 'managed_identity', imds_endpoint: fx.d.imdsUrl }, 429, '3'],
    ['IMDS 503', fx.d.imds, { method: 'managed_identity', imds_endpoint: fx.d.imdsUrl }, 503, '3'],
    ['App Service 429', fx.d.appService, { method: 'app_service' }, 429, '3'],
    ['App Service 503 (date)', fx.d.appService, { method: 'app_service' }, 503,
      () => new Date(Date.now() + 4000).toUTCString()],
  ];
  for (const [what, ep, auth, status, ra] of cases) {
    fs.rmSync(fx.out, { recursive: true, force: true });
    ep.clearFaults();
    ep.fault({ status, body: { error: 'throttled', error_description: 'Too many requests' },
      headers: { 'Retry-After': typeof ra === 'function' ? ra() : ra } });
    const before = ep.requests().length;
    const a = start(fx, fx.config([{ name: 'm' }], { auth }), env);
    await until(() => tryRead(fx.out, 'm') === 'mi-retry-value', { timeout: 20000, what });
    await a.stop();
    const reqs = ep.requests().slice(before);
    assert.deepEqual(reqs.map((r) => r.status), [status, 200], what);
    await assertRetryAfterHonoured(reqs, 3, what);
  }
});

test('Retry-After from Key Vault as an HTTP date holds that object', async (t) => {
  const fx = await setup(t);
  fx.set('kd', 'kv-date-value');
  fx.d.kv.fault({ match: '/secrets/kd', status: 503, headers: { 'Retry-After':
    new Date(Date.now() + 5000).toUTCString() }, times: 1 });
  const a = start(fx, fx.config([{ name: 'kd' }]));
  await until(() => tryRead(fx.out, 'kd') === 'kv-date-value', { timeout: 20000, what: 'sync after Retry-After' });
  await a.stop();
  const reqs = fx.d.kv.requests().filter((r) => r.path.startsWith('/secrets/kd'));
  const i = reqs.findIndex((r) => r.status === 503);
  assert.ok(i >= 0 && reqs[i + 1], JSON.stringify(reqs.map((r) => r.status)));
  const gap = reqs[i + 1].time - reqs[i].time;
  assert.ok(gap >= 3000, `retried ${gap} ms after a Retry-After date ~5 s ahead`);
});

test('Retry-After from a notify URL is a floor on the next notification attempt', async (t) => {
  const fx = await setup(t);
  fx.set('n', 'notify-v1');
  const hits = [];
  const app = http.createServer((req, res) => {
    hits.push(Date.now());
    req.resume();
    if (hits.length === 1) {
      res.writeHead(503, { 'Retry-After': '3', 'Content-Length': 0 });
    } else {
      res.writeHead(204);
    }
    res.end();
  });
  await new Promise((r) => app.listen(0, '127.0.0.1', r));
  t.after(() => app.close());
  const cfg = fx.config([{ name: 'n' }], { interval: '1h', debounce: '100ms',
    notify: [{ http: `http://127.0.0.1:${app.address().port}/refresh` }] });
  const a = start(fx, cfg);
  await a.waitLog(/snapshot written/);
  fx.set('n', 'notify-v2');
  a.kill('SIGUSR1');
  await a.waitLog(/notification failed: will retry notify="http POST .*" error="HTTP 503"/);
  await a.waitLog(/notification sent notify="http POST/, { timeout: 20000 });
  await a.stop();
  assert.equal(hits.length, 2);
  assert.ok(hits[1] - hits[0] >= 3000 - SLACK_MS, `retried ${hits[1] - hits[0]} ms after a 3 s Retry-After`);
});
