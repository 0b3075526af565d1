'use strict';
// The doubles' wire details that akvd and the SDKs depend on, checked byte
// for byte against ../../shared/PROTOCOLS.md.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');
const { startDoubles } = require('../fakes');
const jwt = require('../fakes/jwt');
const { tmpdir } = require('./lib/akvd');

function request(d, url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca: fs.readFileSync(d.caFile), agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

function form(o) {
  return { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(o).toString() };
}

async function fixture(t, opts = {}) {
  const dir = tmpdir('akvd-dbl-');
  const d = await startDoubles({ dir, ...opts });
  t.after(async () => { await d.close(); fs.rmSync(dir, { recursive: true, force: true }); });
  return d;
}

function exchange(d, assertion, extra = {}) {
  return request(d, `${d.authorityHost}${d.tenantId}/oauth2/v2.0/token`, form({
    grant_type: 'client_credentials', client_id: d.clientId, scope: 'https://vault.azure.net/.default',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion, ...extra,
  }));
}

test('token exchange: success shape and v1 access token claims', async (t) => {
  const d = await fixture(t, { refreshIn: 1800 });
  const r = await exchange(d, d.kubelet.current());
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  const b = JSON.parse(r.body);
  assert.deepEqual(Object.keys(b).sort(), ['access_token', 'expires_in', 'ext_expires_in', 'refresh_in', 'token_type']);
  assert.equal(b.token_type, 'Bearer');
  assert.equal(typeof b.expires_in, 'number');
  const c = jwt.decode(b.access_token).claims;
  assert.equal(c.aud, 'https://vault.azure.net');
  assert.equal(c.iss, `https://sts.windows.net/${d.tenantId}/`);
  assert.equal(c.tid, d.tenantId);
  assert.equal(c.appid, d.clientId);
  assert.equal(c.exp - c.iat, 3600);
});

test('token exchange errors carry the real AADSTS shape', async (t) => {
  const d = await fixture(t);
  // Expired assertion: AADSTS700024, invalid_client.
  const old = d.issuer.mint({ lifetime: 3600, now: Math.floor(Date.now() / 1000) - 7200 });
  let r = await exchange(d, old);
  let b = JSON.parse(r.body);
  assert.equal(r.status, 401);
  assert.equal(b.error, 'invalid_client');
  assert.deepEqual(b.error_codes, [700024]);
  assert.match(b.error_description, /^AADSTS700024: Client assertion is not within its valid time range\./);
  assert.match(b.error_description, /\r\nTrace ID: [0-9a-f-]+\r\nCorrelation ID: [0-9a-f-]+\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  for (const k of ['timestamp', 'trace_id', 'correlation_id', 'error_uri']) assert.ok(b[k], k);
  // Wrong subject: AADSTS70021 naming issuer, subject and audience.
  r = await exchange(d, d.issuer.mint({ serviceAccount: 'other' }));
  b = JSON.parse(r.body);
  assert.equal(r.status, 400);
  assert.equal(b.error, 'invalid_request');
  assert.match(b.error_description, /^AADSTS70021: .*Assertion Issuer: '.+'\. Assertion Subject: 'system:serviceaccount:default:other'\. Assertion Audience: 'api:\/\/AzureADTokenExchange'\./);
  // Signed by someone else: AADSTS7000272 / 700027.
  const foreign = jwt.sign(jwt.decode(d.kubelet.current()).claims, jwt.keyPair());
  r = await exchange(d, foreign);
  assert.match(JSON.parse(r.body).error_description, /^AADSTS(7000272|700027):/);
  // Unknown client, bad scope.
  r = await exchange(d, d.kubelet.current(), { client_id: 'nobody' });
  assert.deepEqual(JSON.parse(r.body).error_codes, [700016]);
  r = await exchange(d, d.kubelet.current(), { scope: 'https://vault.azure.net' });
  assert.equal(JSON.parse(r.body).error, 'invalid_scope');
});

test('Key Vault: challenge, bundle, errors, paging', async (t) => {
  const d = await fixture(t);
  const v = d.kv.setSecret('s', 'value-1', { contentType: 'text/plain', tags: { k: 'v' } });
  let r = await request(d, `${d.vaultUrl}/secrets/s?api-version=7.4`);
  assert.equal(r.status, 401);
  assert.equal(r.headers['www-authenticate'],
    `Bearer authorization="https://login.windows.net/${d.tenantId}", resource="https://vault.azure.net"`);
  assert.deepEqual(JSON.parse(r.body),
    { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } });
  const tok = JSON.parse((await exchange(d, d.kubelet.current())).body).access_token;
  const auth = { headers: { Authorization: `Bearer ${tok}` } };
  r = await request(d, `${d.vaultUrl}/secrets/s?api-version=7.4`, auth);
  assert.equal(r.status, 200);
  const b = JSON.parse(r.body);
  assert.equal(b.value, 'value-1');
  assert.equal(b.id, `${d.vaultUrl}/secrets/s/${v}`);
  assert.match(v, /^[0-9a-f]{32}$/);
  assert.deepEqual(Object.keys(b.attributes).sort(), ['created', 'enabled', 'recoverableDays', 'recoveryLevel', 'updated']);
  assert.equal(b.contentType, 'text/plain');
  assert.deepEqual(b.tags, { k: 'v' });
  r = await request(d, `${d.vaultUrl}/secrets/nope?api-version=7.4`, auth);
  assert.equal(r.status, 404);
  assert.equal(JSON.parse(r.body).error.code, 'SecretNotFound');
  d.kv.deny('s');
  r = await request(d, `${d.vaultUrl}/secrets/s?api-version=7.4`, auth);
  assert.equal(r.status, 403);
  assert.equal(JSON.parse(r.body).error.innererror.code, 'ForbiddenByRbac');
  d.kv.allow('s');
  for (let i = 0; i < 26; i++) d.kv.setSecret('p', `v${i}`);
  r = await request(d, `${d.vaultUrl}/secrets/p/versions?api-version=7.4`, auth);
  const page = JSON.parse(r.body);
  assert.equal(page.value.length, 25);
  assert.ok(page.nextLink.startsWith(`${d.vaultUrl}/secrets/p/versions?`));
  r = await request(d, page.nextLink, auth);
  assert.equal(JSON.parse(r.body).value.length, 1);
  assert.equal(JSON.parse(r.body).nextLink, null);
  // A token for another audience is refused.
  const other = jwt.sign({ ...jwt.decode(tok).claims, aud: 'https://storage.azure.com' }, { ...d.entra.kp });
  r = await request(d, `${d.vaultUrl}/secrets/s?api-version=7.4`, { headers: { Authorization: `Bearer ${other}` } });
  assert.equal(r.status, 401);
  assert.match(JSON.parse(r.body).error.message, /AKV10022: Invalid audience/);
});

test('faults: 429 with Retry-After, and the request log', async (t) => {
  const d = await fixture(t);
  d.kv.setSecret('s', 'x');
  d.kv.fault({ match: '/secrets/s', status: 429, retryAfter: 7, times: 1 });
  const tok = JSON.parse((await exchange(d, d.kubelet.current())).body).access_token;
  const auth = { headers: { Authorization: `Bearer ${tok}` } };
  let r = await request(d, `${d.vaultUrl}/secrets/s?api-version=7.4`, auth);
  assert.equal(r.status, 429);
  assert.equal(r.headers['retry-after'], '7');
  assert.equal(JSON.parse(r.body).error.code, 'Throttled');
  r = await request(d, `${d.vaultUrl}/secrets/s?api-version=7.4`, auth);
  assert.equal(r.status, 200);
  assert.deepEqual(d.kv.requests().map((q) => q.status), [429, 200]);
});

test('throttling (off by default): a request budget per window, then 429 with Retry-After', async (t) => {
  const d = await fixture(t);
  d.kv.setSecret('s', 'x');
  const tok = JSON.parse((await exchange(d, d.kubelet.current())).body).access_token;
  const auth = { headers: { Authorization: `Bearer ${tok}` } };
  const get = () => request(d, `${d.vaultUrl}/secrets/s?api-version=7.4`, auth);
  // Off: no budget at all.
  for (let i = 0; i < 20; i++) assert.equal((await get()).status, 200);
  // A budget of 3 per minute: three served, every later one throttled.
  d.kv.setThrottle({ budget: 3, windowMs: 60000 });
  const statuses = [];
  for (let i = 0; i < 6; i++) {
    const r = await get();
    statuses.push(r.status);
    if (r.status === 429) {
      assert.equal(JSON.parse(r.body).error.code, 'Throttled');
      assert.match(JSON.parse(r.body).error.message, /VaultRequestTypeLimitReached/);
      const wait = Number(r.headers['retry-after']);
      assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 60, r.headers['retry-after']);
    }
  }
  assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429]);
  assert.deepEqual(d.kv.requests().slice(20).map((q) => Boolean(q.throttled)),
    [false, false, false, true, true, true]);
  // A fault answers first and does not spend the budget; off again serves all.
  d.kv.fault({ match: '/secrets/s', status: 503, times: 1 });
  assert.equal((await get()).status, 503);
  d.kv.setThrottle(null);
  assert.equal((await get()).status, 200);
});

test('kubelet rotation follows the AtomicWriter layout', async (t) => {
  const d = await fixture(t);
  const dir = path.dirname(d.tokenFile);
  const before = fs.readlinkSync(path.join(dir, '..data'));
  assert.equal(fs.readlinkSync(d.tokenFile), '..data/azure-identity-token');
  const tok = d.kubelet.rotate();
  const after = fs.readlinkSync(path.join(dir, '..data'));
  assert.notEqual(after, before);
  assert.match(after, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d{9}$/);
  assert.equal(fs.existsSync(path.join(dir, before)), false);
  assert.equal(fs.readFileSync(d.tokenFile, 'utf8'), tok);
  const c = jwt.decode(tok).claims;
  assert.deepEqual(c.aud, ['api://AzureADTokenExchange']);
  assert.equal(c.sub, 'system:serviceaccount:default:app');
});
