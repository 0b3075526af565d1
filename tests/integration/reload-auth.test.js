'use strict';
// A reload is all or nothing for the credential too: every module prepares
// its change (the token caches copy the new identity, the request engine
// builds the new trust store from tls.ca_file) before any commits.  A
// prepare that fails leaves akvd on exactly the old configuration: no
// token dropped, none asked for, every object fetched as before.  One that
// succeeds keeps every scope's token when the identity is unchanged.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setup } = require('./lib/setup');
const { until, tryRead } = require('./lib/akvd');
const { startAzurite } = require('../fakes/azurite');

// Trust stores akvd cannot build: no file, no certificate in it, a key
// where a certificate should be.
function badCaFiles(fx) {
  const garbage = path.join(fx.dir, 'garbage.pem');
  fs.writeFileSync(garbage, 'this is not a certificate\n');
  const keyOnly = path.join(fx.dir, 'key-only.pem');
  fs.writeFileSync(keyOnly, '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIB2x\n-----END PRIVATE KEY-----\n');
  return [path.join(fx.dir, 'missing.pem'), garbage, keyOnly];
}

// SIGHUP, and wait for the verdict.
async function hup(a, verdict) {
  const mark = a.lines.length;
  a.kill('SIGHUP');
  await a.waitLog(verdict, { from: mark });
  return a.lines.slice(mark).join('\n');
}

test('a reload whose trust store cannot be built keeps the identity in force: no token dropped or asked for', async (t) => {
  const fx = await setup(t);
  const az = await startAzurite({ dir: path.join(fx.dir, 'azurite'), pkiDir: path.dirname(fx.d.caFile) });
  t.after(() => az.close());
  await az.createContainer('app');
  await az.put('app', 'settings.json', 'blob-v1\n');
  fx.set('x', 'ca-v1');
  const cfgPath = fx.write(fx.config([{ name: 'x' },
    { type: 'blob', url: az.url('app', 'settings.json') }], { interval: '1h' }));
  const a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  const auds = fx.d.entra.issued().map((x) => x.aud);
  assert.ok(auds.includes('https://storage.azure.com'), `audiences: ${auds}`);
  const tokens = fx.d.entra.requests().length;

  let n = 1;
  for (const ca of badCaFiles(fx)) {
    // Another identity (its tokens would be dropped), another name, and
    // a trust store that cannot be built.
    const other = fx.config([{ name: 'x', alias: 'x-renamed' },
      { type: 'blob', url: az.url('app', 'settings.json'), alias: 'renamed.json' }], { interval: '2h' });
    other.auth.client_id = 'another-client';
    other.tls = { ca_file: ca };
    fx.write(other);
    const after = await hup(a, /configuration not reloaded: still running on the previous one/);
    assert.match(after, new RegExp(`tls\\.ca_file ${ca.replace(/[.]/g, '\\.')}: (cannot open|no PEM certificate found)`));
    assert.doesNotMatch(after, /identity changed|configuration applied|dropping/);

    // The old configuration is in force: changes are fetched with the
    // tokens held and written under the old names.
    n++;
    fx.set('x', `ca-v${n}`);
    await az.put('app', 'settings.json', `blob-v${n}\n`);
    fx.d.kv.clearRequests();
    a.kill('SIGUSR1');
    await until(() => tryRead(fx.out, 'x') === `ca-v${n}` && tryRead(fx.out, 'settings.json') === `blob-v${n}\n`,
      { what: `round ${n} written:\n${a.log()}` });
    assert.equal(tryRead(fx.out, 'x-renamed'), null);
    assert.equal(tryRead(fx.out, 'renamed.json'), null);
    assert.ok(fx.d.kv.requests().every((r) => r.authorized && r.status === 200),
      JSON.stringify(fx.d.kv.requests()));
    assert.equal(fx.d.entra.requests().length, tokens, `no token dropped or renewed (${ca})`);
  }
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('a reload that fails to prepare keeps the managed identity\'s token: IMDS not asked again', async (t) => {
  const fx = await setup(t);
  fx.set('m', 'mi-v1');
  const user = fx.d.identities[1];
  const cfg = fx.config([{ name: 'm' }], { interval: '1h' });
  cfg.auth = { method: 'managed_identity', imds_endpoint: fx.d.imdsUrl };
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  const imds = fx.d.imds.requests().length;

  let n = 1;
  for (const ca of badCaFiles(fx)) {
    // A user-assigned identity now: committed, it would drop the token.
    const other = fx.config([{ name: 'm' }], { interval: '1h', tls: { ca_file: ca } });
    other.auth = { method: 'managed_identity', imds_endpoint: fx.d.imdsUrl, client_id: user.clientId };
    fx.write(other);
    const after = await hup(a, /configuration not reloaded/);
    assert.doesNotMatch(after, /identity changed/);
    n++;
    fx.set('m', `mi-v${n}`);
    a.kill('SIGUSR1');
    await until(() => tryRead(fx.out, 'm') === `mi-v${n}`, { what: `round ${n}:\n${a.log()}` });
    assert.equal(fx.d.imds.requests().length, imds, `IMDS not asked again (${ca})`);
  }

  // The same change with a trust store that can be built is applied: the
  // token of the old identity is dropped and the new one's is asked for.
  const ok = fx.config([{ name: 'm' }], { interval: '1h' });
  ok.auth = { method: 'managed_identity', imds_endpoint: fx.d.imdsUrl, client_id: user.clientId };
  fx.write(ok);
  const after = await hup(a, /configuration applied/);
  assert.match(after, /identity changed: dropping the cached access token/);
  fx.set('m', 'mi-user');
  a.kill('SIGUSR1');
  await until(() => tryRead(fx.out, 'm') === 'mi-user', { what: `with the new identity:\n${a.log()}` });
  assert.equal(fx.d.imds.requests().length, imds + 1);
  assert.equal(fx.d.imds.requests().pop().query.client_id, user.clientId);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('a reload keeping the identity keeps the token of every scope: Key Vault\'s and Storage\'s', async (t) => {
  const fx = await setup(t);
  const az = await startAzurite({ dir: path.join(fx.dir, 'azurite'), pkiDir: path.dirname(fx.d.caFile) });
  t.after(() => az.close());
  await az.createContainer('app');
  await az.put('app', 'one.json', 'one-v1\n');
  fx.set('x', 'keep-v1');
  const a = fx.start(fx.write(fx.config([{ name: 'x' },
    { type: 'blob', url: az.url('app', 'one.json') }], { interval: '1h' })));
  await a.waitLog(/snapshot written/);
  const tokens = fx.d.entra.requests().length;

  // Other objects and options, the same credential.
  fx.write(fx.config([{ name: 'x', alias: 'x2' },
    { type: 'blob', url: az.url('app', 'one.json'), alias: 'two.json' }], { interval: '2h', timeout: '7s' }));
  const after = await hup(a, /configuration applied/);
  assert.doesNotMatch(after, /identity changed/);
  await az.put('app', 'one.json', 'one-v2\n');
  fx.set('x', 'keep-v2');
  a.kill('SIGUSR1');
  await until(() => tryRead(fx.out, 'x2') === 'keep-v2' && tryRead(fx.out, 'two.json') === 'one-v2\n',
    { what: `rewritten under the new names:\n${a.log()}` });
  assert.equal(fx.d.entra.requests().length, tokens, 'both tokens kept');
  await a.stop();
  fx.assertNoSecretsLogged(a);
});
