'use strict';
// Every credential source end to end to a written file: managed identity
// (IMDS), App Service, client secret file, client certificate, the auto
// chain, tenant discovery, and the hints of their failures.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setup } = require('./lib/setup');
const { Akvd, runAkvd, until, tryRead, sleep } = require('./lib/akvd');
const { makeClientCert } = require('../fakes/pki');
const jwt = require('../fakes/jwt');

// A config with only the vault and the objects: the credential comes from
// `auth` (given) and the environment.
function bare(fx, objects, auth) {
  const c = fx.config(objects);
  c.auth = auth;
  return c;
}

function start(fx, cfg, env = {}, args = []) {
  const a = new Akvd(['--config', fx.write(cfg), '--log-level', 'debug', ...args], { env });
  fx.procs.push(a);
  return a;
}

test('managed identity: system-assigned through IMDS, never through a proxy', async (t) => {
  const fx = await setup(t);
  fx.set('mi', 'mi-system-value');
  const a = start(fx, bare(fx, [{ name: 'mi' }], { method: 'managed_identity', imds_endpoint: fx.d.imdsUrl }),
    { http_proxy: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '', no_proxy: '' });
  await until(() => tryRead(fx.out, 'mi') === 'mi-system-value', { what: 'sync with IMDS' });
  const q = fx.d.imds.requests();
  assert.equal(q.length, 1);
  assert.equal(q[0].path, '/metadata/identity/oauth2/token');
  assert.equal(q[0].headers.metadata, 'true');
  assert.deepEqual(q[0].query, { 'api-version': '2018-02-01', resource: 'https://vault.azure.net' });
  assert.equal(q[0].viaProxy, false);
  assert.match(a.log(), /access token acquired method=managed_identity/);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('managed identity: user-assigned by client_id, object_id or resource_id', async (t) => {
  const fx = await setup(t);
  fx.set('u', 'mi-user-value');
  const user = fx.d.identities[1];
  const cases = [
    [{ client_id: user.clientId }, { client_id: user.clientId }],
    [{ object_id: user.objectId }, { object_id: user.objectId }],
    [{ resource_id: user.resourceId }, { msi_res_id: user.resourceId }],
  ];
  for (const [sel, query] of cases) {
    fs.rmSync(fx.out, { recursive: true, force: true });
    const r = await runAkvd(['--once', '-c', fx.write(bare(fx, [{ name: 'u' }],
      { method: 'managed_identity', imds_endpoint: fx.d.imdsUrl, ...sel }))]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(tryRead(fx.out, 'u'), 'mi-user-value');
    const last = fx.d.imds.requests().pop();
    assert.deepEqual(last.query, { 'api-version': '2018-02-01', resource: 'https://vault.azure.net', ...query });
    assert.equal(fx.d.imds.issued().pop().clientId, user.clientId);
  }
});

test('IMDS 410, 429 and 500 are retried with backoff until it answers', async (t) => {
  const fx = await setup(t);
  fx.set('r', 'imds-retry-value');
  fx.d.imds.fault({ status: 410, body: { error: 'unavailable', error_description: 'IMDS is being updated' } });
  fx.d.imds.fault({ status: 429, body: { error: 'too_many_requests', error_description: 'Too many requests' } });
  fx.d.imds.fault({ status: 500, body: { error: 'internal', error_description: 'Internal error' } });
  const a = start(fx, bare(fx, [{ name: 'r' }], { method: 'managed_identity', imds_endpoint: fx.d.imdsUrl }));
  await until(() => tryRead(fx.out, 'r') === 'imds-retry-value', { timeout: 30000, what: 'sync after retries' });
  const q = fx.d.imds.requests();
  assert.deepEqual(q.map((x) => x.status), [410, 429, 500, 200]);
  // Exponential: each gap at least as long as the one before (±10% jitter).
  const gaps = q.slice(1).map((x, i) => x.time - q[i].time);
  assert.ok(gaps[1] >= gaps[0] * 0.8 && gaps[2] >= gaps[1] * 0.8, JSON.stringify(gaps));
  assert.match(a.log(), /token request refused by IMDS status=410.*hint="IMDS is being updated/);
  await a.stop();
});

test('IMDS "Identity not found" is explained, and --once gives up at once', async (t) => {
  const fx = await setup(t);
  fx.set('n', 'never-fetched');
  const r = await runAkvd(['--once', '-c', fx.write(bare(fx, [{ name: 'n' }],
    { method: 'managed_identity', imds_endpoint: fx.d.imdsUrl, client_id: '00000000-dead-beef-0000-000000000000' }))]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /token request refused by IMDS status=400 code=invalid_request/);
  assert.match(r.stderr, /hint="this VM has no managed identity, or the client_id/);
  assert.equal(fx.d.imds.requests().length, 1, 'a 400 is not retried');
});

test('IMDS "Multiple user assigned identities exist" names auth.client_id and where to find it', async (t) => {
  const fx = await setup(t);
  fx.set('mu', 'multi-identity-value');
  // A VM (or AKS node pool) with two user-assigned identities and no
  // system-assigned one: IMDS cannot choose.
  fx.d.imds.setSystemAssigned(false);
  for (const auth of [{ method: 'managed_identity', imds_endpoint: fx.d.imdsUrl }, { imds_endpoint: fx.d.imdsUrl }]) {
    fs.rmSync(fx.out, { recursive: true, force: true });
    const before = fx.d.imds.requests().length;
    const cfg = bare(fx, [{ name: 'mu' }], auth);
    const r = await runAkvd(['--once', '-c', fx.write(cfg)]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /token request refused by IMDS status=400 code=invalid_request .*description="Multiple user assigned identities exist/);
    assert.match(r.stderr, /hint="the VM has several user-assigned identities and none was named: set auth.client_id \(or auth.object_id, auth.resource_id\)/);
    assert.match(r.stderr, /az identity show -g GROUP -n NAME --query clientId/);
    assert.equal(fx.d.imds.requests().length - before, 1, 'a 400 is not retried');
    assert.equal(tryRead(fx.out, 'mu'), null);
  }
  // Following the hint works.
  const ok = await runAkvd(['--once', '-c', fx.write(bare(fx, [{ name: 'mu' }],
    { method: 'managed_identity', imds_endpoint: fx.d.imdsUrl, client_id: fx.d.identities[1].clientId }))]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(tryRead(fx.out, 'mu'), 'multi-identity-value');
});

test('auto chain: App Service when IDENTITY_ENDPOINT is set', async (t) => {
  const fx = await setup(t);
  fx.set('as', 'app-service-value');
  const env = { IDENTITY_ENDPOINT: fx.d.identityEndpoint, IDENTITY_HEADER: fx.d.identityHeader };
  const cfg = bare(fx, [{ name: 'as' }], undefined);
  delete cfg.auth;
  const chk = await runAkvd(['--check', '-c', fx.write(cfg)], { env });
  assert.equal(chk.code, 0, chk.stderr);
  assert.match(chk.stderr, /credential: app_service \(IDENTITY_ENDPOINT is set/);
  assert.equal(JSON.parse(chk.stdout).auth.method, 'app_service');
  assert.ok(!chk.stdout.includes(fx.d.identityHeader), 'the identity header is never printed');
  const a = start(fx, cfg, env);
  await until(() => tryRead(fx.out, 'as') === 'app-service-value', { what: 'sync through App Service' });
  const q = fx.d.appService.requests();
  assert.equal(q[0].query['api-version'], '2019-08-01');
  assert.equal(q[0].query.resource, 'https://vault.azure.net');
  assert.equal(q[0].headers.identityHeader, '<redacted>');
  await a.stop();
  assert.ok(!a.log().includes(fx.d.identityHeader));
  fx.assertNoSecretsLogged(a);
});

test('auto chain choices, as --check reports them', async (t) => {
  const fx = await setup(t);
  const cfg = bare(fx, [{ name: 'x' }], undefined);
  delete cfg.auth;
  const p = fx.write(cfg);
  const ids = { AZURE_TENANT_ID: fx.d.tenantId, AZURE_CLIENT_ID: fx.d.clientId };
  const cases = [
    [{ ...ids, AZURE_CLIENT_SECRET: 'do-not-print-me', AZURE_FEDERATED_TOKEN_FILE: fx.d.tokenFile }, 'client_secret',
      /AZURE_CLIENT_SECRET, AZURE_CLIENT_ID and AZURE_TENANT_ID are set/],
    [{ ...ids, AZURE_CLIENT_CERTIFICATE_PATH: '/x.pem', AZURE_FEDERATED_TOKEN_FILE: fx.d.tokenFile },
      'client_certificate', /client certificate/],
    [{ ...ids, AZURE_FEDERATED_TOKEN_FILE: fx.d.tokenFile, IDENTITY_ENDPOINT: 'http://127.0.0.1:1/x',
      IDENTITY_HEADER: 'h' }, 'workload_identity', /federated token file/],
    [{ IDENTITY_ENDPOINT: 'http://127.0.0.1:1/x', IDENTITY_HEADER: 'h' }, 'app_service', /IDENTITY_ENDPOINT/],
    [{ AZURE_CLIENT_SECRET: 'do-not-print-me' }, 'managed_identity', /managed identity \(IMDS\)/],
    [{}, 'managed_identity', /managed identity \(IMDS\)/],
  ];
  for (const [env, method, why] of cases) {
    const r = await runAkvd(['--check', '-c', p], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).auth.method, method, JSON.stringify(env));
    assert.match(r.stderr, new RegExp(`credential: ${method} `));
    assert.match(r.stderr, why);
    assert.ok(!r.stdout.includes('do-not-print-me') && !r.stderr.includes('do-not-print-me'),
      'the secret is not printed');
  }
});

test('client secret file: used, and rotated while running without a restart', async (t) => {
  const fx = await setup(t, { accessTokenLifetime: 8, clientSecrets: ['secret-one~abc'] });
  fx.secrets.add('secret-one~abc');
  fx.secrets.add('secret-two~xyz');
  fx.set('cs', 'client-secret-value');
  const secretFile = path.join(fx.dir, 'sp-secret');
  fs.writeFileSync(secretFile, 'secret-one~abc\n', { mode: 0o600 });
  const a = start(fx, bare(fx, [{ name: 'cs' }], { method: 'client_secret', tenant_id: fx.d.tenantId,
    client_id: fx.d.clientId, client_secret_file: secretFile, authority_host: fx.d.authorityHost }));
  await until(() => tryRead(fx.out, 'cs') === 'client-secret-value', { what: 'sync with the secret' });
  assert.equal(fx.d.entra.requests()[0].form.client_secret, '<redacted>');
  // The secret is rotated in Entra first: renewals fail, with a hint...
  fx.d.entra.setClientSecrets(['secret-two~xyz']);
  await a.waitLog(/token request refused by Entra ID.*code=AADSTS7000215.*hint="the client secret is invalid/,
    { timeout: 20000 });
  // ...then the file: picked up at once, no restart.
  const mark = a.lines.length;
  fs.writeFileSync(`${secretFile}.tmp`, 'secret-two~xyz\n', { mode: 0o600 });
  fs.renameSync(`${secretFile}.tmp`, secretFile);
  await a.waitLog(/access token acquired/, { from: mark, timeout: 10000 });
  fx.set('cs', 'client-secret-value-2');
  await until(() => tryRead(fx.out, 'cs') === 'client-secret-value-2', { what: 'sync after rotation' });
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('client certificate: an RS256 assertion with x5t#S256, aud = token endpoint, unique jti', async (t) => {
  const fx = await setup(t, { accessTokenLifetime: 4 });
  const { pemFile, certPem } = makeClientCert(path.join(fx.dir, 'sp'));
  fx.d.entra.registerCertificate(certPem);
  fx.set('cc', 'client-cert-value');
  const a = start(fx, bare(fx, [{ name: 'cc' }], { method: 'client_certificate', tenant_id: fx.d.tenantId,
    client_id: fx.d.clientId, certificate_file: pemFile, authority_host: fx.d.authorityHost }));
  await until(() => tryRead(fx.out, 'cc') === 'client-cert-value', { what: 'sync with the certificate' });
  await until(() => fx.d.entra.requests().length >= 2, { what: 'a renewal' });
  const ex = fx.d.entra.requests();
  assert.ok(ex.every((e) => e.status === 200), JSON.stringify(ex));
  const c = ex[0].assertionClaims;
  assert.equal(c.alg, 'RS256');
  assert.match(c.x5tS256, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(c.aud, `${fx.d.authorityHost}${fx.d.tenantId}/oauth2/v2.0/token`);
  assert.equal(c.iss, fx.d.clientId);
  assert.equal(c.sub, fx.d.clientId);
  assert.ok(c.exp - c.nbf <= 600);
  assert.notEqual(ex[0].assertionClaims.jti, ex[1].assertionClaims.jti);
  await a.stop();
  fx.assertNoSecretsLogged(a);
  // An unregistered certificate: AADSTS700027 with its hint.
  const other = makeClientCert(path.join(fx.dir, 'other'), 'other');
  const r = await runAkvd(['--once', '-c', fx.write(bare(fx, [{ name: 'cc' }], { method: 'client_certificate',
    tenant_id: fx.d.tenantId, client_id: fx.d.clientId, certificate_file: other.pemFile,
    authority_host: fx.d.authorityHost }))]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /code=AADSTS700027.*hint=/);
});

test('tenant discovery from the 401 challenge, and refusal of a look-alike resource', async (t) => {
  const fx = await setup(t);
  fx.set('td', 'tenant-discovery-value');
  const auth = { method: 'workload_identity', client_id: fx.d.clientId, token_file: fx.d.tokenFile,
    authority_host: fx.d.authorityHost };
  // The vault answers on 127.0.0.1: for the resource check to pass, the
  // vault's host must end with the resource's host.
  fx.d.kv.challengeResource = 'https://0.0.1';
  let a = start(fx, bare(fx, [{ name: 'td' }], auth));
  await until(() => tryRead(fx.out, 'td') === 'tenant-discovery-value', { what: 'sync with a discovered tenant' });
  assert.match(a.log(), new RegExp(`tenant learnt from Key Vault's challenge tenant=${fx.d.tenantId}`));
  const kv = fx.d.kv.requests();
  assert.equal(kv[0].authorized, false);
  assert.equal(kv[0].status, 401);
  assert.equal(fx.d.entra.requests().length, 1);
  await a.stop();
  // A challenge naming a resource that is not a parent of the vault's host.
  fx.d.entra.log.length = 0;
  fx.d.kv.challengeResource = 'https://vault.azure.net';
  fs.rmSync(fx.out, { recursive: true, force: true });
  a = start(fx, bare(fx, [{ name: 'td' }], auth));
  await a.waitLog(/refusing Key Vault's challenge/);
  await a.waitLog(/not a parent domain of the vault: not sending a token there/);
  await sleep(500);
  assert.equal(fx.d.entra.requests().length, 0, 'no token was requested');
  await a.stop();
});

test('a refused challenge is one failure of one probe; --once fails', async (t) => {
  const fx = await setup(t);
  fx.set('td', 'tenant-discovery-value');
  const auth = { method: 'workload_identity', client_id: fx.d.clientId, token_file: fx.d.tokenFile,
    authority_host: fx.d.authorityHost };
  fx.d.kv.challengeResource = 'https://vault.azure.net';
  const a = start(fx, bare(fx, [{ name: 'td' }], auth), {}, ['--once']);
  await a.exited;
  assert.equal(a.code, 1, a.log());
  const fails = a.log().match(/object fetch failed object=td .*/g) || [];
  assert.equal(fails.length, 1, fails.join('\n'));
  assert.match(fails[0], /reason="refusing Key Vault's challenge".*failures=1/);
  assert.equal(fx.d.kv.requests().length, 1, 'one probe');
  assert.equal(fx.d.entra.requests().length, 0, 'no token was requested');
});

test('concurrent objects share one token request', async (t) => {
  const fx = await setup(t);
  const objs = [];
  for (let i = 0; i < 12; i++) {
    fx.set(`c${i}`, `concurrent-${i}`);
    objs.push({ name: `c${i}` });
  }
  const a = fx.start(fx.write(fx.config(objs)));
  await a.waitLog(/snapshot written/);
  assert.equal(fx.d.entra.requests().length, 1);
  assert.equal(tryRead(fx.out, 'c11'), 'concurrent-11');
  await a.stop();
});

test('an expired service-account token is explained (AADSTS700024)', async (t) => {
  const fx = await setup(t);
  fx.set('e', 'expired-sa-value');
  // The kubelet stopped refreshing: the file holds an expired token.
  const old = fx.d.issuer.mint({ now: Math.floor(Date.now() / 1000) - 7200 });
  const dir = path.join(fx.dir, 'stale');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'token'), old);
  const cfg = fx.config([{ name: 'e' }]);
  cfg.auth.token_file = path.join(dir, 'token');
  const r = await runAkvd(['--once', '-c', fx.write(cfg)]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /code=AADSTS700024.*hint="the service-account token is expired or not yet valid: is the projected volume being refreshed/);
  assert.ok(!r.stderr.includes(old.slice(0, 40)));
  assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\./.test(r.stderr));
  // jwt helper sanity: the token really was expired.
  assert.ok(jwt.decode(old).claims.exp < Date.now() / 1000);
});

test('a refused challenge fails every object reading that secret, with one probe', async (t) => {
  const fx = await setup(t);
  fx.set('td', 'tenant-discovery-value');
  const auth = { method: 'workload_identity', client_id: fx.d.clientId, token_file: fx.d.tokenFile,
    authority_host: fx.d.authorityHost };
  fx.d.kv.challengeResource = 'https://vault.azure.net';
  const a = start(fx, bare(fx, [{ name: 'td' }, { name: 'td', alias: 'td-copy', encoding: 'base64' }], auth),
    {}, ['--once']);
  await a.exited;
  assert.equal(a.code, 1, a.log());
  const fails = a.log().match(/object fetch failed object=td .*/g) || [];
  assert.equal(fails.length, 2, fails.join('\n'));
  for (const f of fails) assert.match(f, /reason="refusing Key Vault's challenge".*failures=1/);
  assert.match(a.log(), /object not fetched object=td optional=false reason="refusing Key Vault's challenge"/);
  assert.equal(fx.d.kv.requests().length, 1, 'one probe');
  assert.equal(fx.d.entra.requests().length, 0, 'no token was requested');
});
