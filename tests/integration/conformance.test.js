'use strict';
// Conformance: the official @azure/identity and @azure/keyvault-secrets
// clients work against the doubles, so the doubles speak the real protocol.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const { execFile } = require('node:child_process');
const { startDoubles } = require('../fakes');
const { tmpdir } = require('./lib/akvd');
const { makeChain } = require('../fakes/pki');

const CLIENT = path.join(__dirname, '..', 'fakes', 'sdk-client.js');

function sdk(d, args, extraEnv) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...d.env, NODE_EXTRA_CA_CERTS: d.caFile, ...extraEnv };
    execFile(process.execPath, [CLIENT, ...args], { env, timeout: 60000 }, (err, stdout, stderr) => {
      let r;
      try {
        r = JSON.parse(stdout);
      } catch (e) {
        reject(new Error(`sdk-client: ${err || ''}\n${stdout}\n${stderr}`));
        return;
      }
      if (r.fatal) reject(new Error(r.fatal));
      else resolve(r);
    });
  });
}

async function fixture(t, opts) {
  const dir = tmpdir('akvd-conf-');
  const d = await startDoubles({ dir, ...opts });
  t.after(async () => {
    await d.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const first = d.kv.setSecret('conf', 'first value');
  const disabled = d.kv.setSecret('conf', 'disabled value');
  d.kv.disableVersion('conf', disabled);
  const latest = d.kv.setSecret('conf', 'latest value', { contentType: 'text/plain' });
  const many = [];
  for (let i = 0; i < 30; i++) many.push(d.kv.setSecret('many', `v${i}`, { tags: { env: 'prod' } }));
  // A certificate's secret, as Key Vault creates it (managed, kid).
  const chain = makeChain(path.join(dir, 'pki'));
  const tls = d.kv.setCertificate('tls', { leafPem: chain.pem.leaf, pfx: chain.pfx });
  return { d, first, disabled, latest, many, tls };
}

function checkResults(r, f) {
  assert.equal(r.token.ok, true, JSON.stringify(r.token));
  assert.ok(r.token.expiresInS > 3500);
  assert.deepEqual(r.latest, { ok: true, value: { value: 'latest value', version: f.latest, enabled: true,
    contentType: 'text/plain', name: 'conf' } });
  assert.deepEqual(r.byVersion, { ok: true, value: 'first value' });
  // 30 versions over two pages, following nextLink.
  assert.equal(r.versions.ok, true, JSON.stringify(r.versions));
  assert.deepEqual([...r.versions.value].sort(), [...f.many].sort());
  assert.deepEqual(r.list, { ok: true, value: ['conf', 'many', 'tls'] });
  assert.deepEqual(r.tags, { ok: true, value: { env: 'prod' } });
  assert.equal(r.managed.ok, true, JSON.stringify(r.managed));
  assert.equal(r.managed.value.managed, true);
  assert.equal(r.managed.value.contentType, 'application/x-pkcs12');
  assert.equal(r.managed.value.keyId, `${f.d.kv.url}/keys/tls/${f.tls}`);
  assert.equal(r.managed.value.version, f.tls);
  assert.equal(r.missing.ok, false);
  assert.equal(r.missing.statusCode, 404);
  assert.equal(r.missing.code, 'SecretNotFound');
  assert.equal(r.disabled.ok, false);
  assert.equal(r.disabled.statusCode, 403);
  assert.equal(r.disabled.code, 'Forbidden');
  assert.match(r.disabled.message, /disabled secret/);
}

test('WorkloadIdentityCredential + SecretClient against the doubles', async (t) => {
  const f = await fixture(t);
  const r = await sdk(f.d, ['workload', f.d.vaultUrl],
    { FIRST_VERSION: f.first, DISABLED_VERSION: f.disabled });
  checkResults(r, f);
  // The SDK sent its first request without a token and followed the 401
  // challenge, then exchanged the projected token once.
  const reqs = f.d.kv.requests();
  assert.equal(reqs[0].authorized, false);
  assert.equal(reqs[0].status, 401);
  assert.ok(reqs.slice(1).every((q) => q.authorized));
  const ex = f.d.entra.requests();
  assert.ok(ex.length >= 1 && ex.every((q) => q.status === 200), JSON.stringify(ex));
  assert.equal(ex[0].form.client_assertion_type, 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  assert.equal(ex[0].form.scope, 'https://vault.azure.net/.default');
  assert.equal(ex[0].assertionClaims.sub, 'system:serviceaccount:default:app');
});

test('ClientSecretCredential against the Entra double', async (t) => {
  const f = await fixture(t, { clientSecrets: ['s3cr3t~value'] });
  const r = await sdk(f.d, ['secret', f.d.vaultUrl, 's3cr3t~value'],
    { FIRST_VERSION: f.first, DISABLED_VERSION: f.disabled });
  checkResults(r, f);
  // A wrong secret is refused with the real AADSTS code.
  const bad = await sdk(f.d, ['secret', f.d.vaultUrl, 'wrong'],
    { FIRST_VERSION: f.first, DISABLED_VERSION: f.disabled });
  assert.equal(bad.token.ok, false);
  assert.match(bad.token.message, /AADSTS7000215/);
});

function identitySdk(d, args, env) {
  return new Promise((resolve, reject) => {
    const clean = { ...process.env };
    for (const k of Object.keys(clean)) if (/^(AZURE_|IDENTITY_|MSI_)/.test(k)) delete clean[k];
    execFile(process.execPath, [path.join(__dirname, '..', 'fakes', 'sdk-identity.js'), ...args],
      { env: { ...clean, NODE_EXTRA_CA_CERTS: d.caFile, ...env }, timeout: 90000 }, (err, stdout, stderr) => {
        try { resolve(JSON.parse(stdout)); } catch (e) { reject(new Error(`${err}\n${stdout}\n${stderr}`)); }
      });
  });
}

test('ManagedIdentityCredential against the IMDS and App Service doubles', async (t) => {
  const dir = tmpdir('akvd-conf-mi-');
  const d = await startDoubles({ dir });
  t.after(async () => { await d.close(); fs.rmSync(dir, { recursive: true, force: true }); });
  let r = await identitySdk(d, ['managed'], { AZURE_POD_IDENTITY_AUTHORITY_HOST: d.imdsUrl });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.aud, 'https://vault.azure.net');
  assert.equal(r.appid, d.identities[0].clientId);
  assert.ok(r.expiresInS > 3500);
  r = await identitySdk(d, ['managed-user', d.identities[1].clientId],
    { AZURE_POD_IDENTITY_AUTHORITY_HOST: d.imdsUrl });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.appid, d.identities[1].clientId);
  r = await identitySdk(d, ['appservice'], { IDENTITY_ENDPOINT: d.identityEndpoint, IDENTITY_HEADER: d.identityHeader });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.appid, d.identities[0].clientId);
});

test('ClientCertificateCredential against the Entra double', async (t) => {
  const dir = tmpdir('akvd-conf-cert-');
  const d = await startDoubles({ dir });
  t.after(async () => { await d.close(); fs.rmSync(dir, { recursive: true, force: true }); });
  const { makeClientCert } = require('../fakes/pki');
  const { pemFile, certPem } = makeClientCert(path.join(dir, 'sp'));
  d.entra.registerCertificate(certPem);
  const env = { AZURE_TENANT_ID: d.tenantId, AZURE_CLIENT_ID: d.clientId, AZURE_AUTHORITY_HOST: d.authorityHost };
  const r = await identitySdk(d, ['certificate', pemFile], env);
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.aud, 'https://vault.azure.net');
  const ex = d.entra.requests();
  assert.equal(ex[ex.length - 1].status, 200);
  assert.equal(ex[ex.length - 1].assertionClaims.aud, `${d.authorityHost}${d.tenantId}/oauth2/v2.0/token`);
});
