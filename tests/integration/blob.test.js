'use strict';
// Blob objects against Azurite, the real Azure Storage emulator: download,
// ETag change detection (If-None-Match, 304), rewrites, Storage error codes
// and the size cap, observed through the files, the log and the requests a
// recording proxy in front of Azurite saw.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setup } = require('./lib/setup');
const { Akvd, until, readOut, tryRead } = require('./lib/akvd');
const { startAzurite } = require('../fakes/azurite');

async function withAzurite(t, opts) {
  const fx = await setup(t, opts);
  const az = await startAzurite({ dir: path.join(fx.dir, 'azurite'), pkiDir: path.dirname(fx.d.caFile) });
  t.after(() => az.close());
  // Exit codes alone would not show a sanitizer report of a failing --once.
  t.after(() => {
    for (const a of fx.procs) assert.doesNotMatch(a.log(), /Sanitizer/, a.log());
  });
  return { fx, az };
}

const blobGets = (az, name) => az.requests().filter((r) => r.method === 'GET' && r.path.endsWith(`/${name}`));

test('a blob is downloaded with a Storage-scoped token, next to a secret', async (t) => {
  const { fx, az } = await withAzurite(t);
  await az.createContainer('app-config');
  await az.put('app-config', 'prod/settings.json', '{"feature": true}\n');
  await az.put('app-config', 'prod/bin/blob.dat', Buffer.from([0, 1, 2, 255, 10, 13]));
  fx.set('db-password', 'secret-next-to-blobs');
  const cfg = fx.config([
    { name: 'db-password' },
    { type: 'blob', url: az.url('app-config', 'prod/settings.json'), mode: '0400' },
    { type: 'blob', url: az.url('app-config', 'prod/bin/blob.dat'), alias: 'data/blob.dat' },
  ]);
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);

  // The alias defaults to the blob name's last segment.
  assert.equal(readOut(fx.out, 'settings.json'), '{"feature": true}\n');
  assert.equal(fs.statSync(path.join(fx.out, 'settings.json')).mode & 0o777, 0o400);
  assert.deepEqual([...fs.readFileSync(path.join(fx.out, 'data/blob.dat'))], [0, 1, 2, 255, 10, 13]);
  assert.equal(fs.statSync(path.join(fx.out, 'data/blob.dat')).mode & 0o777, 0o440);
  assert.equal(readOut(fx.out, 'db-password'), 'secret-next-to-blobs');

  // One token per scope: Key Vault's and Storage's audiences.
  const auds = fx.d.entra.issued().map((x) => x.aud);
  assert.ok(auds.includes('https://storage.azure.com'), `audiences: ${auds}`);
  assert.ok(auds.some((x) => /vault/.test(x)), `audiences: ${auds}`);
  // On the wire: a Bearer token, x-ms-version, no If-None-Match yet.
  const first = blobGets(az, 'settings.json')[0];
  assert.equal(first.auth, 'Bearer');
  assert.equal(first.version, '2020-04-08');
  assert.equal(first.ifNoneMatch, undefined);
  assert.equal(first.status, 200);
  assert.match(a.log(), /object fetched.*object=settings\.json/);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('unchanged blob: 304 and no rewrite; changed blob: rewritten; restart: unconditional GET', async (t) => {
  const { fx, az } = await withAzurite(t);
  await az.createContainer('certs');
  const v1 = await az.put('certs', 'ca-bundle.pem', 'bundle version one\n');
  const cfg = fx.config([{ type: 'blob', url: az.url('certs', 'ca-bundle.pem'), alias: 'ca.pem' }]);
  delete cfg.vault;
  const cfgPath = fx.write(cfg);
  let a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  const dataLink = path.join(fx.out, '..data');
  const snap1 = fs.readlinkSync(dataLink);
  const ino1 = fs.statSync(path.join(fx.out, 'ca.pem')).ino;

  // Later polls are conditional on the ETag and answered 304 by Azurite.
  await until(() => blobGets(az, 'ca-bundle.pem').filter((r) => r.status === 304).length >= 2,
    { what: 'two 304 answers' });
  for (const r of blobGets(az, 'ca-bundle.pem').slice(1)) {
    assert.equal(r.ifNoneMatch, v1.etag);
    assert.equal(r.status, 304);
  }
  assert.equal(fs.readlinkSync(dataLink), snap1);
  assert.equal(fs.statSync(path.join(fx.out, 'ca.pem')).ino, ino1);
  assert.equal(a.count(/snapshot written/), 1);

  // A new upload changes the ETag: the file is rewritten.
  const v2 = await az.put('certs', 'ca-bundle.pem', 'bundle version two\n');
  assert.notEqual(v2.etag, v1.etag);
  await until(() => tryRead(fx.out, 'ca.pem') === 'bundle version two\n', { what: 'the rewrite' });
  assert.notEqual(fs.readlinkSync(dataLink), snap1);
  assert.match(a.log(), /object updated.*object=ca\.pem/);
  await until(() => blobGets(az, 'ca-bundle.pem').some((r) => r.ifNoneMatch === v2.etag && r.status === 304),
    { what: 'a 304 for the new ETag' });
  await a.stop();

  // A restart adopts the file but not an ETag: the first GET is
  // unconditional, and identical content is not reported as a change.
  az.clearRequests();
  const from = 0;
  a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/, { from });
  const again = blobGets(az, 'ca-bundle.pem')[0];
  assert.equal(again.ifNoneMatch, undefined);
  assert.equal(again.status, 200);
  assert.equal(readOut(fx.out, 'ca.pem'), 'bundle version two\n');
  assert.match(a.log(), /object version changed, content identical.*object=ca\.pem/);
  assert.doesNotMatch(a.log(), /object updated/);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('missing blob and missing container are clear errors of those objects only', async (t) => {
  const { fx, az } = await withAzurite(t);
  await az.createContainer('present');
  await az.put('present', 'good.txt', 'good blob\n');
  fx.set('db-user', 'app_user');
  const cfg = fx.config([
    { name: 'db-user' },
    { type: 'blob', url: az.url('present', 'good.txt') },
    // A max_size smaller than Storage's error document does not hide it.
    { type: 'blob', url: az.url('present', 'no-such-blob.txt'), alias: 'missing-blob', max_size: '10B' },
    { type: 'blob', url: az.url('absent', 'x.txt'), alias: 'missing-container' },
  ]);
  const a = fx.start(fx.write(cfg), ['--once']);
  const { code } = await a.exited;
  assert.notEqual(code, 0);
  assert.equal(readOut(fx.out, 'good.txt'), 'good blob\n');
  assert.equal(readOut(fx.out, 'db-user'), 'app_user');
  assert.equal(tryRead(fx.out, 'missing-blob'), null);
  assert.equal(tryRead(fx.out, 'missing-container'), null);
  const log = a.log();
  assert.match(log, /object fetch failed object=missing-blob .*reason="HTTP 404 BlobNotFound".*The specified blob does not exist/);
  assert.match(log, /object fetch failed object=missing-container .*reason="HTTP 404 ContainerNotFound".*The specified container does not exist/);
  assert.match(log, /object not fetched object=missing-blob/);
  assert.match(log, /object not fetched object=missing-container/);
  // Azurite said so itself (the codes are not inferred from the status).
  const codes = az.requests().map((r) => r.errorCode).filter(Boolean).sort();
  assert.deepEqual(codes, ['BlobNotFound', 'ContainerNotFound']);
  fx.assertNoSecretsLogged(a);
});

test('a blob over max_size is an error of that object; the old file is kept', async (t) => {
  const { fx, az } = await withAzurite(t);
  await az.createContainer('sized');
  await az.put('sized', 'small.bin', 'x'.repeat(1000));
  const cfg = fx.config([{ type: 'blob', url: az.url('sized', 'small.bin'), max_size: '1KiB' }]);
  delete cfg.vault;
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  assert.equal(readOut(fx.out, 'small.bin'), 'x'.repeat(1000));

  await az.put('sized', 'small.bin', 'y'.repeat(5000));
  const { index } = await a.waitLog(/object fetch failed object=small\.bin .*reason="blob larger than max_size"/);
  assert.match(a.lines[index], /response larger than 1024 bytes/);
  assert.match(a.lines[index], /keeping=/);
  assert.equal(readOut(fx.out, 'small.bin'), 'x'.repeat(1000));
  assert.equal(a.count(/snapshot written/), 1);
  await a.stop();
});

test('401 renews the storage token once; 503 backs off and honours Retry-After', async (t) => {
  const { fx, az } = await withAzurite(t);
  await az.createContainer('flaky');
  await az.put('flaky', 'conf.txt', 'one\n');
  fx.set('kv-secret', 'kv-value-123');
  const cfg = fx.config([{ name: 'kv-secret' }, { type: 'blob', url: az.url('flaky', 'conf.txt') }]);
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  const storageTokens = () => fx.d.entra.issued().filter((x) => x.aud === 'https://storage.azure.com').length;
  const vaultTokens = () => fx.d.entra.issued().filter((x) => x.aud !== 'https://storage.azure.com').length;
  assert.equal(storageTokens(), 1);
  assert.equal(vaultTokens(), 1);

  // Storage refuses the token: one new storage token, an immediate retry,
  // and the Key Vault token is left alone.
  az.fault({ match: '/flaky/conf.txt', status: 401, code: 'InvalidAuthenticationInfo',
    message: 'Lifetime validation failed. The token is expired.' });
  const after401 = await until(() => {
    const reqs = blobGets(az, 'conf.txt');
    const i = reqs.findIndex((r) => r.status === 401);
    return i >= 0 && reqs[i + 1] && reqs[i + 1].status !== null ? [reqs[i], reqs[i + 1]] : null;
  }, { what: 'the retry after a 401' });
  assert.ok([200, 304].includes(after401[1].status), `retry answered ${after401[1].status}`);
  // Retried at once with the new token: never reported as a failure.
  assert.equal(a.count(/object fetch failed.*HTTP 401/), 0);
  assert.equal(storageTokens(), 2);
  assert.equal(vaultTokens(), 1);
  assert.match(a.log(), /the service refused the access token.*scope=https:\/\/storage\.azure\.com\/\.default/);
  await az.put('flaky', 'conf.txt', 'two\n');
  await until(() => tryRead(fx.out, 'conf.txt') === 'two\n', { what: 'the update after a 401' });

  // Throttled: no request before Retry-After, then recovery.
  az.fault({ match: '/flaky/conf.txt', status: 503, code: 'ServerBusy', retryAfter: 3 });
  await az.put('flaky', 'conf.txt', 'three\n');
  const { index } = await a.waitLog(/object fetch failed object=conf\.txt .*reason="HTTP 503 ServerBusy"/);
  assert.match(a.lines[index], /keeping=/);
  assert.equal(readOut(fx.out, 'conf.txt'), 'two\n');
  await until(() => tryRead(fx.out, 'conf.txt') === 'three\n', { timeout: 20000, what: 'recovery after 503' });
  const gets = blobGets(az, 'conf.txt');
  const t503 = gets.find((r) => r.status === 503).time;
  const next = gets.find((r) => r.time > t503);
  assert.ok(next.time - t503 >= 2900, `retried ${next.time - t503} ms after a 3 s Retry-After`);
  assert.match(a.log(), /object recovered.*object=conf\.txt/);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('only blobs and no tenant: a clear error, no token request', async (t) => {
  const { fx, az } = await withAzurite(t);
  const cfg = fx.config([{ type: 'blob', url: az.url('nope', 'x.txt') }]);
  delete cfg.vault;
  delete cfg.auth.tenant_id;
  const a = fx.start(fx.write(cfg), ['--once']);
  const { code } = await a.exited;
  assert.notEqual(code, 0);
  assert.match(a.log(), /object fetch failed object=x\.txt .*reason="no tenant for the storage token" detail="set auth\.tenant_id/);
  assert.equal(fx.d.entra.issued().length, 0);
  assert.equal(az.requests().length, 0);
});

test('no tenant configured: the one learnt from Key Vault\'s challenge serves the blob too', async (t) => {
  const { fx, az } = await withAzurite(t);
  await az.createContainer('shared');
  await az.put('shared', 'blob-first.txt', 'blob content\n');
  fx.set('after-blob', 'secret-after-blob');
  // The blob comes first: it must wait for the probe, not fail.
  const cfg = fx.config([{ type: 'blob', url: az.url('shared', 'blob-first.txt') }, { name: 'after-blob' }]);
  delete cfg.auth.tenant_id;
  // The vault answers on 127.0.0.1: the resource must be a parent of it.
  fx.d.kv.challengeResource = 'https://0.0.1';
  const cfgPath = fx.write(cfg);
  let a = fx.start(cfgPath, ['--once']);
  const { code } = await a.exited;
  assert.equal(code, 0, a.log());
  assert.equal(readOut(fx.out, 'blob-first.txt'), 'blob content\n');
  assert.equal(readOut(fx.out, 'after-blob'), 'secret-after-blob');
  assert.match(a.log(), /tenant learnt from Key Vault's challenge/);
  assert.doesNotMatch(a.log(), /no tenant for the storage token/);
  fx.assertNoSecretsLogged(a);

  // A challenge akvd refuses teaches no tenant: the blob fails clearly
  // instead of waiting forever, and --once ends.
  fx.d.kv.challengeResource = 'https://vault.azure.net';
  fs.rmSync(fx.out, { recursive: true, force: true });
  a = fx.start(cfgPath, ['--once']);
  assert.notEqual((await a.exited).code, 0);
  assert.match(a.log(), /object fetch failed object=blob-first\.txt .*reason="no tenant for the storage token"/);
  assert.equal(tryRead(fx.out, 'blob-first.txt'), null);
});

test('each scope renews its own token; a storage token nobody uses any more lapses', async (t) => {
  // Entra asks for renewal every 2 s (refresh_in).
  const { fx, az } = await withAzurite(t, { accessTokenLifetime: 3600, refreshIn: 2 });
  await az.createContainer('renew');
  await az.put('renew', 'r.txt', 'renewed\n');
  fx.set('kv-renew', 'kv-renew-value');
  const withBlob = fx.config([{ name: 'kv-renew' }, { type: 'blob', url: az.url('renew', 'r.txt') }]);
  const cfgPath = fx.write(withBlob);
  const a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  const count = (storage) => fx.d.entra.issued().filter((x) => (x.aud === 'https://storage.azure.com') === storage).length;
  await until(() => count(true) >= 3 && count(false) >= 3, { timeout: 20000, what: 'renewals of both scopes' });
  // Every blob request was authorized (Azurite would say 403 otherwise).
  assert.ok(blobGets(az, 'r.txt').every((r) => r.status === 200 || r.status === 304));

  // Without the blob, the storage token is renewed at most once more (if
  // it was used since its last renewal), while Key Vault's goes on.
  fx.write({ ...withBlob, objects: [{ name: 'kv-renew' }] });
  const from = a.lines.length;
  a.kill('SIGHUP');
  await a.waitLog(/configuration applied/, { from });
  const storageAtReload = count(true);
  const vaultAtReload = count(false);
  await until(() => count(false) >= vaultAtReload + 3, { timeout: 20000, what: 'three more Key Vault renewals' });
  assert.ok(count(true) <= storageAtReload + 1, `${count(true) - storageAtReload} storage renewals after the reload`);
  assert.match(a.log(), /access token not renewed: unused scope=https:\/\/storage\.azure\.com\/\.default/);
  await a.stop();
});

test('managed identity and App Service ask for the storage resource', async (t) => {
  const { fx, az } = await withAzurite(t);
  await az.createContainer('mi-blobs');
  await az.put('mi-blobs', 'vm.txt', 'from a VM\n');
  const cfg = fx.config([{ type: 'blob', url: az.url('mi-blobs', 'vm.txt') }]);
  delete cfg.vault;

  // IMDS: resource without "/.default".
  cfg.auth = { method: 'managed_identity', imds_endpoint: fx.d.imdsUrl };
  let a = fx.start(fx.write(cfg, 'imds.json'), ['--once']);
  assert.equal((await a.exited).code, 0, a.log());
  assert.equal(readOut(fx.out, 'vm.txt'), 'from a VM\n');
  const q = fx.d.imds.requests();
  assert.equal(q.length, 1);
  assert.deepEqual(q[0].query, { 'api-version': '2018-02-01', resource: 'https://storage.azure.com' });

  // App Service: the same resource, with the identity header.
  await az.put('mi-blobs', 'vm.txt', 'from App Service\n');
  cfg.auth = { method: 'app_service', identity_endpoint: fx.d.identityEndpoint };
  a = new Akvd(['--config', fx.write(cfg, 'appsvc.json'), '--once'],
    { env: { IDENTITY_HEADER: fx.d.identityHeader } });
  fx.procs.push(a);
  assert.equal((await a.exited).code, 0, a.log());
  assert.equal(readOut(fx.out, 'vm.txt'), 'from App Service\n');
  const w = fx.d.appService.requests();
  assert.equal(w.length, 1);
  assert.equal(w[0].query.resource, 'https://storage.azure.com');
});
