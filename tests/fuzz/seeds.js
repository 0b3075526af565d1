'use strict';
// Regenerate the fuzzers' seed corpora from what the local doubles really
// serve (tests/fakes/), the configuration golden files (tests/config/) and
// certificates made with the openssl CLI:
//   node tests/fuzz/seeds.js
// Writes tests/fuzz/<harness>/seeds/<name>.  The seeds are committed; run
// this again when the doubles learn a new shape.  Seeds never hold a real
// secret: everything here is generated for the run.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const https = require('node:https');
const { startDoubles } = require('../fakes');
const { makeChain, makeClientCert } = require('../fakes/pki');
const { generateKey } = require('../fakes/jwt');

const FUZZ = __dirname;
const ROOT = path.resolve(FUZZ, '..', '..');

function seed(harness, name, data) {
  const dir = path.join(FUZZ, harness, 'seeds');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), data);
}

// A selector byte in front of the input, as the harness reads it.
function sel(n, data) {
  return Buffer.concat([Buffer.from([n]), Buffer.from(data)]);
}

function request(url, { method = 'GET', headers = {}, body, ca } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.rawHeaders,
        body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

function rawHeaders(h) {
  const lines = [];
  for (let i = 0; i < h.length; i += 2) lines.push(`${h[i]}: ${h[i + 1]}`);
  return lines;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'akvd-seeds-'));
  // Fixed ports: the harnesses know the vault URL (fuzz_kv_list.c).
  const d = await startDoubles({ dir: path.join(dir, 'doubles'), kvPort: 38443, entraPort: 38444 });
  const ca = fs.readFileSync(d.caFile);
  try {
    d.entra.setClientSecrets(['seed-secret']);
    const form = (scope, extra = {}) => new URLSearchParams({ grant_type: 'client_credentials',
      client_id: d.clientId, scope, client_secret: 'seed-secret', ...extra }).toString();
    const tokenUrl = `${d.authorityHost}${d.tenantId}/oauth2/v2.0/token`;
    const post = (body, url = tokenUrl) => request(url, { method: 'POST', ca, body,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });

    // Entra ID token responses and errors.
    let r = await post(form('https://vault.azure.net/.default'));
    seed('fuzz_token', 'entra', sel(0, r.body));
    const token = JSON.parse(r.body).access_token;
    d.entra.setRefreshIn(1800);
    seed('fuzz_token', 'entra-refresh', sel(0, (await post(form('https://vault.azure.net/.default'))).body));
    const errs = [
      form('https://vault.azure.net/.default', { client_secret: 'wrong' }),
      form('https://vault.azure.net'),
      form('https://vault.azure.net/.default', { client_id: 'nobody' }),
      form('https://vault.azure.net/.default', { grant_type: 'password' }),
    ];
    for (const [i, b] of errs.entries()) {
      seed('fuzz_errors', `entra-${i}`, sel(1, (await post(b)).body));
    }
    seed('fuzz_errors', 'entra-tenant', sel(1, (await post(form('https://vault.azure.net/.default'),
      `${d.authorityHost}other-tenant/oauth2/v2.0/token`)).body));

    // IMDS and App Service token responses (strings for numbers).
    const http = require('node:http');
    const get = (url, headers) => new Promise((resolve, reject) => {
      http.get(url, { headers }, (res) => {
        const c = [];
        res.on('data', (x) => c.push(x));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(c) }));
      }).on('error', reject);
    });
    r = await get(`${d.imdsUrl}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net`,
      { Metadata: 'true' });
    seed('fuzz_token', 'imds', sel(0, r.body));
    r = await get(`${d.imdsUrl}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net&client_id=nobody`,
      { Metadata: 'true' });
    seed('fuzz_errors', 'imds-error', sel(1, r.body));
    r = await get(`${d.identityEndpoint}?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net`,
      { 'X-IDENTITY-HEADER': d.identityHeader });
    seed('fuzz_token', 'appservice', sel(1, r.body));

    // Key Vault: every bundle, list page and error the double serves.
    const auth = { Authorization: `Bearer ${token}` };
    const kv = (p, h = auth) => request(`${d.vaultUrl}${p}${p.includes('?') ? '&' : '?'}api-version=7.4`,
      { ca, headers: h });
    d.kv.setSecret('plain', 'hunter2', { tags: { env: 'prod', team: 'a' } });
    d.kv.setSecret('typed', 'aGVsbG8=', { contentType: 'text/plain; base64' });
    for (let i = 0; i < 30; i++) d.kv.setSecret(`many-${i}`, `v${i}`);
    const chain = makeChain(path.join(dir, 'rsa'));
    const ec = makeChain(path.join(dir, 'ec'), { ec: true });
    d.kv.setCertificate('tls', { leafPem: chain.pem.leaf, pfx: chain.pfx });
    d.kv.setCertificate('tls-pem', { leafPem: ec.pem.leaf, pem: ec.kvPem });
    const jwks = {
      rsa: generateKey('rsa'), p256: generateKey('ec', 'P-256'), p384: generateKey('ec', 'P-384'),
      p521: generateKey('ec', 'P-521'), secp256k1: generateKey('ec', 'secp256k1'),
    };
    for (const [n, k] of Object.entries(jwks)) {
      const j = k.export({ format: 'jwk' });
      d.kv.setKey(`k-${n}`, n === 'p384' ? { ...j, kty: 'EC-HSM' } : j);
    }
    jwks.oct = null;
    d.kv.setKey('k-oct', { kty: 'oct', k: 'c2VjcmV0' });
    const kinds = { secrets: 0, certificates: 1, keys: 2 };
    for (const p of ['/secrets/plain', '/secrets/typed', '/secrets/tls', '/secrets/tls-pem']) {
      seed('fuzz_kv_object', p.slice(1).replace(/\//g, '-'), sel(0, (await kv(p)).body));
    }
    for (const p of ['/certificates/tls', '/certificates/tls-pem']) {
      seed('fuzz_kv_object', p.slice(1).replace(/\//g, '-'), sel(1, (await kv(p)).body));
    }
    for (const n of Object.keys(jwks)) {
      seed('fuzz_kv_object', `keys-${n}`, sel(2, (await kv(`/keys/k-${n}`)).body));
    }
    for (const p of ['/secrets', '/secrets/plain/versions', '/certificates', '/keys',
      '/certificates/tls/versions', '/keys/k-rsa/versions']) {
      const b = (await kv(p)).body;
      seed('fuzz_kv_list', p.slice(1).replace(/\//g, '-'), sel(kinds[p.split('/')[1]], b));
    }
    const list = JSON.parse((await kv('/secrets')).body);
    const next = new URL(list.nextLink);
    next.searchParams.delete('api-version');
    seed('fuzz_kv_list', 'secrets-page2', sel(0, (await kv(`${next.pathname}${next.search}`)).body));
    d.kv.deny('plain');
    const errPaths = ['/secrets/absent', '/certificates/absent', '/keys/absent', '/secrets/plain', '/nothing'];
    for (const p of errPaths) {
      seed('fuzz_errors', `kv${p.replace(/\//g, '-')}`, sel(0, (await kv(p)).body));
    }
    r = await kv('/secrets/plain', {});
    seed('fuzz_errors', 'kv-401', sel(0, r.body));
    const challenge = rawHeaders(r.headers).find((l) => /^www-authenticate:/i.test(l));
    seed('fuzz_challenge', 'keyvault', challenge.replace(/^[^:]*:\s*/, ''));
    seed('fuzz_challenge', 'scope', 'Bearer authorization_uri="https://login.microsoftonline.com/' +
      `${d.tenantId}", scope="https://vault.azure.net/.default"`);
    seed('fuzz_challenge', 'storage', 'Bearer authorization_uri=https://login.microsoftonline.com/' +
      `${d.tenantId}/oauth2/authorize resource_id=https://storage.azure.com`);
    seed('fuzz_challenge', 'pop', 'PoP realm="", authorization="https://login.windows.net/x", nonce="abc"');
    seed('fuzz_http', 'kv-401', rawHeaders(r.headers).join('\r\n') + '\r\n');
    d.kv.fault({ match: '/secrets/plain', status: 429, retryAfter: 3, times: 1 });
    seed('fuzz_http', 'kv-429', rawHeaders((await kv('/secrets/plain')).headers).join('\r\n') + '\r\n');
    seed('fuzz_http', 'retry-date', 'Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n' +
      'ETag: "0x8DB2F1A5C3E9A2B"\r\nx-ms-error-code: BlobNotFound\r\nContent-Length: 123\r\n');

    // Blob Storage error bodies (the XML Azure Storage sends).
    const blobErr = (code, msg) => '\ufeff<?xml version="1.0" encoding="utf-8"?><Error><Code>' +
      `${code}</Code><Message>${msg}\nRequestId:0b5b4a34-001e-0041-7d1c-1b9e3d000000\n` +
      'Time:2024-01-01T00:00:00.0000000Z</Message></Error>';
    seed('fuzz_blob', 'notfound', blobErr('BlobNotFound', 'The specified blob does not exist.'));
    seed('fuzz_blob', 'auth', blobErr('AuthorizationPermissionMismatch',
      'This request is not authorized to perform this operation using this permission.'));
    seed('fuzz_blob', 'entities', '<Error><Code>A&amp;B</Code><Message>&lt;x&gt; &#65;</Message></Error>');

    // Rendering: values as Key Vault holds them, with selector bytes the
    // harness maps to type / encoding / format / split / content type.
    // byte 0: type (0 secret, 1 cert, 2 key); byte 1: bits 0-1 encoding,
    // 2-3 format, 4 split, 5 managed; byte 2: content type index.
    const rsel = (type, flags, ct, data) => Buffer.concat([Buffer.from([type, flags, ct]), Buffer.from(data)]);
    seed('fuzz_render', 'utf8', rsel(0, 0, 0, 'hunter2'));
    seed('fuzz_render', 'base64', rsel(0, 1, 0, 'aGVsbG8gd29ybGQ='));
    seed('fuzz_render', 'hex', rsel(0, 2, 0, '68656c6c6f'));
    seed('fuzz_render', 'pfx-managed', rsel(0, 0x20, 1, chain.pfx.toString('base64')));
    seed('fuzz_render', 'pfx-split', rsel(0, 0x30, 1, chain.pfx.toString('base64')));
    seed('fuzz_render', 'pfx-as-pfx', rsel(0, 0x28, 1, chain.pfx.toString('base64')));
    seed('fuzz_render', 'pem-split', rsel(0, 0x34, 2, ec.kvPem));
    seed('fuzz_render', 'pem-auto', rsel(0, 0x20, 0, chain.kvPem));
    seed('fuzz_render', 'cer', rsel(1, 0, 0, JSON.parse((await kv('/certificates/tls')).body).cer));
    for (const n of Object.keys(jwks)) {
      const jwk = JSON.parse((await kv(`/keys/k-${n}`)).body).key;
      seed('fuzz_render', `jwk-${n}`, rsel(2, 0, 0, JSON.stringify(jwk)));
    }

    // Bundles: byte 0 is the format, entries "key\0value\0...".
    const entries = (pairs) => pairs.map(([k, v]) => `${k}\0${v}`).join('\0');
    seed('fuzz_bundle', 'json', sel(0, entries([['ConnectionStrings--Db', 'Server=x;Password=p'],
      ['ConnectionStrings--Cache', 'redis'], ['Logging', 'debug']])));
    seed('fuzz_bundle', 'dotenv', sel(1, entries([['db-password', "it's"], ['user', 'app'],
      ['multi', 'a\nb']])));
    seed('fuzz_bundle', 'json-nested', sel(0, entries([['a--x', '1'], ['a--b--c', '2'], ['b', 'caf\u00e9']])));

    // Client certificates for the assertion signer (key + certificate PEM).
    const sp = makeClientCert(path.join(dir, 'sp'));
    seed('fuzz_assertion', 'rsa', fs.readFileSync(sp.pemFile));
    seed('fuzz_assertion', 'ec-chain', ec.key + ec.pem.leaf + ec.pem.inter);
    seed('fuzz_assertion', 'cert-first', chain.pem.leaf + chain.key);
  } finally {
    await d.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  // Configuration: every golden input, and durations.
  const cfgDir = path.join(ROOT, 'tests', 'config');
  for (const f of fs.readdirSync(cfgDir).filter((n) => n.endsWith('.json'))) {
    seed('fuzz_config', f.replace(/\.json$/, ''), fs.readFileSync(path.join(cfgDir, f)));
  }
  for (const s of ['500ms', '90s', '2m', '1h30m', '1d', '0', '86400', '1h1m1s1ms']) {
    seed('fuzz_duration', s, s);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
