'use strict';
// Workload identity: the projected token is re-read at every exchange, the
// access token is renewed before it expires, and Entra errors are explained.

const test = require('node:test');
const assert = require('node:assert/strict');
const { setup } = require('./lib/setup');
const fs = require('node:fs');
const path = require('node:path');
const { until, tryRead, sleep } = require('./lib/akvd');

test('access token is renewed before expiry; Key Vault never sees an expired one', async (t) => {
  // 12 s tokens: renewed at half-life (short-lived rule), usable until 3 s before exp.
  const fx = await setup(t, { accessTokenLifetime: 12 });
  fx.set('s', 'renewal-value');
  const a = fx.start(fx.write(fx.config([{ name: 's' }])));
  await a.waitLog(/snapshot written/);
  await until(() => fx.d.entra.issued().length >= 3, { timeout: 30000, what: 'three tokens' });
  const issued = fx.d.entra.issued();
  // Each renewal happened while the previous token was still valid.
  for (let i = 1; i < issued.length; i++) {
    assert.ok(issued[i].iat < issued[i - 1].exp,
      `token ${i} issued at ${issued[i].iat}, previous expired at ${issued[i - 1].exp}`);
  }
  const reqs = fx.d.kv.requests().filter((r) => r.path.startsWith('/secrets/'));
  assert.ok(reqs.length >= 10);
  assert.ok(reqs.every((r) => r.authorized), 'every Key Vault request carried a valid token');
  assert.ok(!reqs.some((r) => r.status === 401));
  assert.match(a.log(), /access token acquired.*expires_in=12.*renew_in=6/);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('refresh_in from Entra drives the renewal', async (t) => {
  const fx = await setup(t, { accessTokenLifetime: 3600, refreshIn: 2 });
  fx.set('s', 'refresh-in-value');
  const a = fx.start(fx.write(fx.config([{ name: 's' }])));
  await a.waitLog(/access token acquired.*renew_in=2/);
  await until(() => fx.d.entra.issued().length >= 2, { timeout: 10000, what: 'renewal at refresh_in' });
  await a.stop();
});

test('kubelet token rotation while the old assertion expires', async (t) => {
  // Service-account tokens live 6 s and the kubelet double rotates them; access
  // tokens live 4 s, so every exchange must present the file's current token.
  const fx = await setup(t, { saTokenLifetime: 6, accessTokenLifetime: 4 });
  fx.set('s', 'rotation-value');
  const a = fx.start(fx.write(fx.config([{ name: 's' }])));
  await a.waitLog(/snapshot written/);
  const firstSa = fx.d.kubelet.current();
  await sleep(3000);
  const rotated = fx.d.kubelet.rotate({ lifetime: 30 });
  assert.notEqual(rotated, firstSa);
  // Past the first SA token's expiry: exchanges must still succeed.
  await sleep(5000);
  fx.set('s', 'rotation-value-2');
  await until(() => tryRead(fx.out, 's') === 'rotation-value-2', { what: 'sync after rotation' });
  const ex = fx.d.entra.requests();
  assert.ok(ex.length >= 3, `${ex.length} token exchanges`);
  assert.ok(ex.every((r) => r.status === 200),
    `failed exchanges: ${JSON.stringify(ex.filter((r) => r.status !== 200))}`);
  // Exchanges after the rotation presented the new token (re-read by path).
  const after = ex.filter((r) => r.assertionClaims && r.assertionClaims.exp > Date.now() / 1000 + 10);
  assert.ok(after.length >= 1, 'an exchange presented the rotated token');
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('Entra errors are logged with their AADSTS code and a hint; old files stay', async (t) => {
  const fx = await setup(t);
  fx.set('s', 'aad-value');
  // No federated credential matches the service account.
  fx.d.entra.setFederatedCredentials([{
    issuer: 'https://issuer.example/other', subject: 'system:serviceaccount:x:y',
    audiences: ['api://AzureADTokenExchange'],
  }]);
  const a = fx.start(fx.write(fx.config([{ name: 's' }])));
  const { line } = await a.waitLog(/token request refused by Entra ID/);
  assert.match(line, /code=AADSTS70021/);
  assert.match(line, /hint=.*federated/);
  assert.match(line, /tenant=/);
  assert.doesNotMatch(line, /Trace ID|Correlation ID/);
  // Repeated identical failures are not logged once per retry.
  await sleep(4000);
  const attempts = fx.d.entra.requests().length;
  assert.ok(a.count(/token request refused/) < attempts || attempts <= 2,
    `${a.count(/token request refused/)} log lines for ${attempts} attempts`);
  assert.equal(tryRead(fx.out, 's'), null);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('a token file that appears late is waited for, and picked up as soon as it is written', async (t) => {
  const fx = await setup(t);
  fx.set('s', 'late-token-value');
  const cfg = fx.config([{ name: 's' }]);
  const dir = path.join(fx.dir, 'late-tokens');
  fs.mkdirSync(dir);
  cfg.auth.token_file = path.join(dir, 'azure-identity-token');
  const a = fx.start(fx.write(cfg));
  const { line } = await a.waitLog(/waiting for the file to appear/);
  assert.match(line, /file="federated token"/);
  assert.match(line, /hint=.*azure.workload.identity\/use/);
  await sleep(2500);
  assert.equal(a.exited && a.code, undefined, 'akvd keeps running');
  // The kubelet projects the volume: written elsewhere, renamed in.
  fs.writeFileSync(path.join(dir, '.tmp'), fx.d.kubelet.current());
  fs.renameSync(path.join(dir, '.tmp'), cfg.auth.token_file);
  await a.waitLog(/credential file changed: retrying the token request now/);
  await until(() => tryRead(fx.out, 's') === 'late-token-value', { what: 'sync after the token appeared' });
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('401 from Key Vault renews the token once and retries', async (t) => {
  const fx = await setup(t);
  fx.set('s', 'v401-one');
  const a = fx.start(fx.write(fx.config([{ name: 's' }])));
  await a.waitLog(/snapshot written/);
  const before = fx.d.entra.issued().length;
  fx.d.kv.fault({ match: '/secrets/s', status: 401, times: 1,
    headers: { 'WWW-Authenticate': `Bearer authorization="https://login.windows.net/${fx.d.tenantId}", resource="https://vault.azure.net"` },
    body: JSON.stringify({ error: { code: 'Unauthorized', message: 'AKV10032: Invalid issuer.' } }) });
  fx.set('s', 'v401-two');
  await until(() => tryRead(fx.out, 's') === 'v401-two', { what: 'retry after 401' });
  assert.equal(fx.d.entra.issued().length, before + 1);
  assert.match(a.log(), /Key Vault refused the access token/);
  await a.stop();
});
