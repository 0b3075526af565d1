'use strict';
// Every Key Vault object kind and the files made from it: certificate-backed
// secrets (PFX and PEM, chain shuffled) as PEM, split and PFX; certificates;
// keys (JWK -> PUBLIC KEY); encodings; version pinning; history; owners.
// The written files are checked with the openssl CLI.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { setup } = require('./lib/setup');
const { until, tryRead, readOut, healthEndpoint } = require('./lib/akvd');
const { makeChain } = require('../fakes/pki');
const { generateKey } = require('../fakes/jwt');

function openssl(args, input) {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

// The certificates of a PEM text, in order.
function certsOf(text) {
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) || [])
    .map((p) => new crypto.X509Certificate(p));
}

function subjects(text) {
  return certsOf(text).map((c) => c.subject.replace(/^CN=/, ''));
}

// One --once run; returns the finished Akvd.
async function once(fx, objects, extra) {
  const a = fx.start(fx.write(fx.config(objects, extra)), ['--once']);
  await a.exited;
  return a;
}

// A PEM bundle written by akvd: PKCS#8 key that matches the leaf, chain
// leaf -> intermediate -> root that openssl verifies.
function assertKeyAndChain(dir, file, chain) {
  const text = readOut(dir, file);
  assert.match(text, /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8 private key first');
  assert.doesNotMatch(text, /BEGIN (RSA|EC) PRIVATE KEY/);
  assert.deepEqual(subjects(text), ['app.example.com', 'akvd test intermediate', 'akvd test root']);
  const p = path.join(dir, file);
  // openssl pkey reads the key; its public half is the leaf's.
  const pub = openssl(['pkey', '-in', p, '-pubout']);
  const leafPub = openssl(['x509', '-in', p, '-noout', '-pubkey']);
  assert.equal(pub, leafPub);
  assert.equal(openssl(['x509', '-in', p, '-noout', '-fingerprint', '-sha256']),
    openssl(['x509', '-in', chain.files.leaf, '-noout', '-fingerprint', '-sha256']));
  return text;
}

test('certificate-backed secret stored as PFX, chain shuffled: PEM, split, verify', async (t) => {
  const fx = await setup(t);
  const chain = makeChain(path.join(fx.dir, 'pki'), { order: ['root', 'leaf', 'inter'] });
  const v = fx.d.kv.setCertificate('tls', { leafPem: chain.pem.leaf, pfx: chain.pfx });
  fx.secrets.add(chain.key.trim().split('\n')[5]);
  const a = await once(fx, [{ name: 'tls', alias: 'tls/server.pem', split: true }]);
  assert.equal(a.code, 0, a.log());
  assertKeyAndChain(fx.out, 'tls/server.pem', chain);
  // split: .key alone, .crt = leaf + intermediate, .ca.crt = root.
  const key = readOut(fx.out, 'tls/server.pem.key');
  assert.match(key, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+-----END PRIVATE KEY-----\n$/);
  assert.equal(openssl(['pkey', '-in', path.join(fx.out, 'tls/server.pem.key'), '-pubout']),
    openssl(['x509', '-in', chain.files.leaf, '-noout', '-pubkey']));
  assert.deepEqual(subjects(readOut(fx.out, 'tls/server.pem.crt')), ['app.example.com', 'akvd test intermediate']);
  assert.deepEqual(subjects(readOut(fx.out, 'tls/server.pem.ca.crt')), ['akvd test root']);
  const out = openssl(['verify', '-CAfile', path.join(fx.out, 'tls/server.pem.ca.crt'),
    '-untrusted', path.join(fx.out, 'tls/server.pem.crt'), path.join(fx.out, 'tls/server.pem.crt')]);
  assert.match(out, /: OK/);
  for (const f of ['tls/server.pem', 'tls/server.pem.key', 'tls/server.pem.crt', 'tls/server.pem.ca.crt']) {
    assert.equal(fs.statSync(path.join(fx.out, f)).mode & 0o777, 0o440, f);
  }
  assert.match(a.log(), new RegExp(`object fetched.*object=tls.*version=${v}`));
  fx.assertNoSecretsLogged(a);
});

test('certificate-backed secret stored as PEM (EC leaf, chain shuffled) and as PFX output', async (t) => {
  const fx = await setup(t);
  const chain = makeChain(path.join(fx.dir, 'pki'), { ec: true, order: ['inter', 'root', 'leaf'] });
  fx.d.kv.setCertificate('ec-pem', { leafPem: chain.pem.leaf, pem: chain.kvPem });
  const rsa = makeChain(path.join(fx.dir, 'pki-rsa'), { order: ['leaf', 'root', 'inter'] });
  fx.d.kv.setCertificate('rsa-pfx', { leafPem: rsa.pem.leaf, pfx: rsa.pfx });
  const a = await once(fx, [
    { name: 'ec-pem', alias: 'ec.pem' },
    { name: 'ec-pem', alias: 'ec.pfx', format: 'pfx' },
    { name: 'rsa-pfx', alias: 'rsa.pfx', format: 'pfx' },
  ]);
  assert.equal(a.code, 0, a.log());
  // Two objects rendering one secret two ways cost one GET.
  assert.equal(fx.d.kv.requests().filter((r) => r.path === '/secrets/ec-pem' && r.status === 200).length, 1);
  assertKeyAndChain(fx.out, 'ec.pem', chain);
  assert.match(openssl(['pkey', '-in', path.join(fx.out, 'ec.pem'), '-noout', '-text']), /P-256|prime256v1/);
  // PFX stored: Key Vault's bytes as they are.
  assert.deepEqual(fs.readFileSync(path.join(fx.out, 'rsa.pfx')), rsa.pfx);
  // PEM stored, PFX wanted: a PKCS#12 with an empty password, whole chain.
  const p12 = openssl(['pkcs12', '-in', path.join(fx.out, 'ec.pfx'), '-passin', 'pass:', '-nodes']);
  assert.match(p12, /BEGIN PRIVATE KEY/);
  assert.deepEqual(subjects(p12).sort(), ['akvd test intermediate', 'akvd test root', 'app.example.com']);
});

test('an old PFX (RC2, the legacy algorithms of Windows exports) is read with OpenSSL\'s legacy provider', async (t) => {
  const fx = await setup(t);
  const chain = makeChain(path.join(fx.dir, 'pki'));
  const legacy = path.join(fx.dir, 'legacy.pfx');
  execFileSync('openssl', ['pkcs12', '-export', '-legacy', '-passout', 'pass:', '-inkey', chain.files.key,
    '-in', chain.files.leaf, '-certfile', chain.files.inter, '-out', legacy]);
  // openssl prints the algorithms on stderr.
  const info = spawnSync('openssl', ['pkcs12', '-in', legacy, '-passin', 'pass:', '-info', '-noout', '-legacy']);
  assert.match(info.stderr.toString() + info.stdout.toString(), /RC2/);
  fx.d.kv.setCertificate('old', { leafPem: chain.pem.leaf, pfx: fs.readFileSync(legacy) });
  const a = await once(fx, [{ name: 'old', alias: 'old.pem' }]);
  assert.equal(a.code, 0, a.log());
  assert.deepEqual(subjects(readOut(fx.out, 'old.pem')), ['app.example.com', 'akvd test intermediate']);
  assert.equal(openssl(['pkey', '-in', path.join(fx.out, 'old.pem'), '-pubout']),
    openssl(['x509', '-in', chain.files.leaf, '-noout', '-pubkey']));
});

test('an incomplete chain: leaf and intermediate in order, an empty .ca.crt; strangers follow in Key Vault\'s order', async (t) => {
  const fx = await setup(t);
  const chain = makeChain(path.join(fx.dir, 'pki'), { order: ['inter', 'leaf'] });
  const other = makeChain(path.join(fx.dir, 'other'), { cn: 'stranger.example.com' });
  fx.d.kv.setCertificate('no-root', { leafPem: chain.pem.leaf, pfx: chain.pfx });
  // PEM: strangers before the leaf, one a root with the name of ours (its
  // key id says it is not the intermediate's issuer).
  fx.d.kv.setCertificate('stranger', { leafPem: chain.pem.leaf,
    pem: chain.key + other.pem.inter + other.pem.root + chain.pem.inter + chain.pem.leaf });
  const a = await once(fx, [
    { name: 'no-root', split: true },
    { name: 'stranger' },
  ]);
  assert.equal(a.code, 0, a.log());
  assert.deepEqual(subjects(readOut(fx.out, 'no-root')), ['app.example.com', 'akvd test intermediate']);
  assert.deepEqual(subjects(readOut(fx.out, 'no-root.crt')), ['app.example.com', 'akvd test intermediate']);
  assert.equal(readOut(fx.out, 'no-root.ca.crt'), '');
  // The intermediate chains; the strangers follow in Key Vault's order.
  const fp = (p) => new crypto.X509Certificate(p).fingerprint256;
  assert.deepEqual(certsOf(readOut(fx.out, 'stranger')).map((c) => c.fingerprint256),
    [fp(chain.pem.leaf), fp(chain.pem.inter), fp(other.pem.inter), fp(other.pem.root)]);
});

test('cert: the leaf of GET /certificates as PEM; key: JWK (RSA, EC P-256/384/521) as PUBLIC KEY', async (t) => {
  const fx = await setup(t);
  const chain = makeChain(path.join(fx.dir, 'pki'));
  fx.d.kv.setCertificate('web', { leafPem: chain.pem.leaf, pfx: chain.pfx });
  const keys = {
    rsa: crypto.createPublicKey(generateKey('rsa')),
    p256: crypto.createPublicKey(generateKey('ec', 'P-256')),
    p384: crypto.createPublicKey(generateKey('ec', 'P-384')),
    p521: crypto.createPublicKey(generateKey('ec', 'P-521')),
  };
  for (const [n, k] of Object.entries(keys)) {
    const j = k.export({ format: 'jwk' });
    // Key Vault's kty for HSM-backed keys carries "-HSM".
    fx.d.kv.setKey(`k-${n}`, n === 'p384' ? { ...j, kty: 'EC-HSM' } : j);
  }
  fx.d.kv.setKey('k-oct', { kty: 'oct', k: 'c2VjcmV0' });
  const a = await once(fx, [
    { name: 'web', type: 'cert', alias: 'web.crt' },
    { name: 'web', type: 'key', alias: 'web.pub' },
    ...Object.keys(keys).map((n) => ({ name: `k-${n}`, type: 'key', alias: `${n}.pub` })),
    { name: 'k-oct', type: 'key', alias: 'oct.pub', optional: true },
  ]);
  assert.equal(a.code, 0, a.log());
  assert.equal(readOut(fx.out, 'web.crt'), chain.pem.leaf);
  assert.equal(openssl(['x509', '-in', path.join(fx.out, 'web.crt'), '-noout', '-subject']).trim(),
    'subject=CN = app.example.com');
  assert.equal(openssl(['pkey', '-pubin', '-in', path.join(fx.out, 'web.pub')]),
    openssl(['x509', '-in', chain.files.leaf, '-noout', '-pubkey']));
  for (const [n, k] of Object.entries(keys)) {
    const file = path.join(fx.out, `${n}.pub`);
    assert.match(readOut(fx.out, `${n}.pub`), /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(openssl(['pkey', '-pubin', '-in', file]), k.export({ type: 'spki', format: 'pem' }), n);
  }
  // A symmetric key has no public half: an error of that object only.
  assert.equal(tryRead(fx.out, 'oct.pub'), null);
  assert.match(a.log(), /object fetch failed.*object=k-oct.*cannot render the object.*only RSA and EC/);
  // The requests went where Key Vault serves each kind.
  const paths = fx.d.kv.requests().map((r) => r.path);
  assert.ok(paths.includes('/certificates/web'));
  assert.ok(paths.includes('/keys/web'));
});

test('encoding: base64 and hex decoded; invalid input is an error of that object, old file kept', async (t) => {
  const fx = await setup(t);
  const bin = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x0a, 0x27]);
  fx.set('b64', bin.toString('base64'));
  fx.set('hex', bin.toString('hex').toUpperCase());
  fx.set('wrapped', `${Buffer.alloc(100, 7).toString('base64').replace(/(.{76})/g, '$1\n')}\n`);
  fx.set('plain', 'as-is value\n');
  const a = fx.start(fx.write(fx.config([
    { name: 'b64', encoding: 'base64' },
    { name: 'hex', encoding: 'hex' },
    { name: 'wrapped', encoding: 'base64' },
    { name: 'plain' },
  ])));
  await a.waitLog(/snapshot written/);
  assert.deepEqual(fs.readFileSync(path.join(fx.out, 'b64')), bin);
  assert.deepEqual(fs.readFileSync(path.join(fx.out, 'hex')), bin);
  assert.deepEqual(fs.readFileSync(path.join(fx.out, 'wrapped')), Buffer.alloc(100, 7));
  assert.equal(readOut(fx.out, 'plain'), 'as-is value\n');

  fx.set('b64', 'not*base64!');
  fx.set('hex', 'abc');
  await a.waitLog(/object fetch failed.*object=b64.*cannot render the object.*not valid base64/);
  await a.waitLog(/object fetch failed.*object=hex.*cannot render the object.*not valid hex/);
  assert.deepEqual(fs.readFileSync(path.join(fx.out, 'b64')), bin);
  assert.deepEqual(fs.readFileSync(path.join(fx.out, 'hex')), bin);
  // Fixed in Key Vault: back to normal.
  fx.set('b64', Buffer.from('fixed').toString('base64'));
  await until(() => tryRead(fx.out, 'b64') === 'fixed', { what: 'the fixed value' });
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('version pinning for secrets, certificates and keys', async (t) => {
  const fx = await setup(t);
  const v1 = fx.set('pinned', 'first');
  fx.set('pinned', 'second');
  const c1 = makeChain(path.join(fx.dir, 'c1'), { cn: 'one.example.com' });
  const c2 = makeChain(path.join(fx.dir, 'c2'), { cn: 'two.example.com' });
  const cv1 = fx.d.kv.setCertificate('cert', { leafPem: c1.pem.leaf, pfx: c1.pfx });
  fx.d.kv.setCertificate('cert', { leafPem: c2.pem.leaf, pfx: c2.pfx });
  const a = await once(fx, [
    { name: 'pinned', version: v1 },
    { name: 'pinned', alias: 'latest' },
    { name: 'cert', type: 'cert', version: cv1, alias: 'one.crt' },
    { name: 'cert', type: 'cert', alias: 'two.crt' },
    { name: 'cert', type: 'key', version: cv1, alias: 'one.pub' },
  ]);
  assert.equal(a.code, 0, a.log());
  assert.equal(readOut(fx.out, 'pinned'), 'first');
  assert.equal(readOut(fx.out, 'latest'), 'second');
  assert.equal(readOut(fx.out, 'one.crt'), c1.pem.leaf);
  assert.equal(readOut(fx.out, 'two.crt'), c2.pem.leaf);
  assert.equal(openssl(['pkey', '-pubin', '-in', path.join(fx.out, 'one.pub')]),
    openssl(['x509', '-in', c1.files.leaf, '-noout', '-pubkey']));
  const paths = fx.d.kv.requests().map((r) => r.path);
  assert.ok(paths.includes(`/secrets/pinned/${v1}`));
  assert.ok(paths.includes(`/certificates/cert/${cv1}`));
  assert.ok(paths.includes(`/keys/cert/${cv1}`));
});

test('history: the newest N enabled versions as alias/0..N-1, following nextLink', async (t) => {
  const fx = await setup(t);
  // 30 versions: the list spans two pages of 25.
  const versions = [];
  for (let i = 0; i < 30; i++) versions.push(fx.set('signing', `key-${i}`));
  fx.d.kv.disableVersion('signing', versions[28]);
  fx.set('few', 'only-one');
  const a = fx.start(fx.write(fx.config([
    { name: 'signing', alias: 'keys', history: 3 },
    { name: 'few', history: 2, optional: true },
  ])));
  await a.waitLog(/snapshot written/);
  assert.deepEqual(fs.readdirSync(path.join(fx.out, 'keys')).sort(), ['0', '1', '2']);
  assert.equal(readOut(fx.out, 'keys/0'), 'key-29');
  assert.equal(readOut(fx.out, 'keys/1'), 'key-27');   // 28 is disabled
  assert.equal(readOut(fx.out, 'keys/2'), 'key-26');
  const lists = fx.d.kv.requests().filter((r) => r.path === '/secrets/signing/versions');
  assert.equal(lists[0].query.maxresults, '25');
  assert.ok(lists.some((r) => r.query.$skiptoken), 'the second page was fetched');
  // Fewer enabled versions than asked: an error of that object, no file.
  assert.match(a.log(), /object fetch failed.*object=few.*not enough enabled versions.*1 enabled, history needs 2/);
  assert.equal(fs.existsSync(path.join(fx.out, 'few')), false);

  // Unchanged versions: only the list is asked, no GET of a version.
  fx.d.kv.clearRequests();
  await until(() => fx.d.kv.requests().filter((r) => r.path === '/secrets/signing/versions' &&
    !r.query.$skiptoken).length >= 2, { what: 'two more cycles' });
  assert.equal(fx.d.kv.requests().filter((r) => r.path.startsWith('/secrets/signing/') &&
    r.path !== '/secrets/signing/versions').length, 0);

  // A new version: only it is fetched; the others are reused.
  fx.d.kv.clearRequests();
  const v30 = fx.set('signing', 'key-30');
  await until(() => tryRead(fx.out, 'keys/0') === 'key-30', { what: 'the new version' });
  assert.equal(readOut(fx.out, 'keys/1'), 'key-29');
  assert.equal(readOut(fx.out, 'keys/2'), 'key-27');
  assert.deepEqual(fx.d.kv.requests().filter((r) => r.path.startsWith('/secrets/signing/') &&
    r.path !== '/secrets/signing/versions').map((r) => r.path), [`/secrets/signing/${v30}`]);
  // Disabling the newest brings the fourth newest back, fetched alone.
  fx.d.kv.clearRequests();
  fx.d.kv.disableVersion('signing', v30);
  await until(() => tryRead(fx.out, 'keys/0') === 'key-29', { what: 'the history without the disabled version' });
  assert.equal(readOut(fx.out, 'keys/1'), 'key-27');
  assert.equal(readOut(fx.out, 'keys/2'), 'key-26');
  assert.deepEqual(fx.d.kv.requests().filter((r) => r.path.startsWith('/secrets/signing/') &&
    r.path !== '/secrets/signing/versions').map((r) => r.path), [`/secrets/signing/${versions[26]}`]);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('history of certificates and keys: /certificates and /keys version lists', async (t) => {
  const fx = await setup(t);
  const c1 = makeChain(path.join(fx.dir, 'c1'), { cn: 'one.example.com' });
  const c2 = makeChain(path.join(fx.dir, 'c2'), { cn: 'two.example.com' });
  fx.d.kv.setCertificate('web', { leafPem: c1.pem.leaf, pfx: c1.pfx });
  fx.d.kv.setCertificate('web', { leafPem: c2.pem.leaf, pfx: c2.pfx });
  const a = await once(fx, [
    { name: 'web', type: 'cert', alias: 'certs', history: 2 },
    { name: 'web', type: 'key', alias: 'keys', history: 2 },
  ]);
  assert.equal(a.code, 0, a.log());
  assert.equal(readOut(fx.out, 'certs/0'), c2.pem.leaf);
  assert.equal(readOut(fx.out, 'certs/1'), c1.pem.leaf);
  assert.equal(openssl(['pkey', '-pubin', '-in', path.join(fx.out, 'keys/1')]),
    openssl(['x509', '-in', c1.files.leaf, '-noout', '-pubkey']));
  const paths = fx.d.kv.requests().map((r) => r.path);
  assert.ok(paths.includes('/certificates/web/versions'));
  assert.ok(paths.includes('/keys/web/versions'));
});

test('uid and gid: files owned as configured; without CAP_CHOWN a clear error naming the object', async (t) => {
  if (process.getuid() !== 0) {
    t.skip('needs root to give files away (run as root in CI)');
    return;
  }
  const fx = await setup(t);
  fx.set('owned', 'for-the-app');
  const cfg = fx.config([{ name: 'owned', uid: 1234, gid: 2345, mode: '0400' }]);
  const a = await once(fx, cfg.objects);
  assert.equal(a.code, 0, a.log());
  const st = fs.statSync(path.join(fx.out, 'owned'));
  assert.equal(st.uid, 1234);
  assert.equal(st.gid, 2345);
  assert.equal(st.mode & 0o777, 0o400);
  assert.equal(readOut(fx.out, 'owned'), 'for-the-app');

  // Root without CAP_CHOWN (setpriv drops it from the bounding set).
  const out2 = path.join(fx.dir, 'out2');
  const b = fx.start(fx.write({ ...cfg, output_dir: out2 }, 'nocap.json'), ['--once'],
    { wrap: ['setpriv', '--bounding-set', '-chown', '--'] });
  await b.exited;
  assert.equal(b.code, 1, b.log());
  assert.match(b.log(), /cannot set the owner of a file.*object=owned.*file=owned.*owner=1234:2345.*Operation not permitted.*CAP_CHOWN/);
  assert.equal(fs.existsSync(path.join(out2, 'owned')), false);
});

test('a content type is a hint: a secret that backs no certificate is written as it is', async (t) => {
  const fx = await setup(t);
  const one = makeChain(path.join(fx.dir, 'pki1'));
  const two = makeChain(path.join(fx.dir, 'pki2'), { cn: 'other.example.com' });
  const cas = one.pem.root + two.pem.root;
  // The portal's "Content type" and Terraform's content_type are free text.
  fx.d.kv.setSecret('ca-bundle', cas, { contentType: 'application/x-pem-file' });
  fx.d.kv.setSecret('not-a-pfx', 'hunter2:not base64!', { contentType: 'application/x-pkcs12' });
  fx.d.kv.setSecret('key-only', one.key, { contentType: 'Application/X-PEM-File; charset=utf-8' });
  fx.d.kv.setSecret('chain-no-key', one.pem.leaf + one.pem.inter, { contentType: 'application/x-pem-file' });
  const objects = [{ name: 'ca-bundle', alias: 'ca/bundle.pem' }, { name: 'not-a-pfx' },
    { name: 'key-only' }, { name: 'chain-no-key' }];
  const a = await once(fx, objects);
  assert.equal(a.code, 0, a.log());
  assert.equal(readOut(fx.out, 'ca/bundle.pem'), cas);
  assert.deepEqual(subjects(readOut(fx.out, 'ca/bundle.pem')), ['akvd test root', 'akvd test root']);
  // openssl reads both anchors from the file as written.
  assert.match(openssl(['verify', '-CAfile', path.join(fx.out, 'ca/bundle.pem'),
    '-untrusted', one.files.inter, one.files.leaf]), /: OK/);
  assert.equal(readOut(fx.out, 'not-a-pfx'), 'hunter2:not base64!');
  assert.equal(readOut(fx.out, 'key-only'), one.key);
  assert.equal(readOut(fx.out, 'chain-no-key'), one.pem.leaf + one.pem.inter);
  assert.doesNotMatch(a.log(), /cannot render/);

  // The daemon is ready with them: /readyz says 200.
  const d = fx.start(fx.write(fx.config(objects, { listen: '127.0.0.1:0' })));
  const base = await healthEndpoint(d);
  await until(async () => (await fetch(`${base}/readyz`)).status === 200, { what: '/readyz 200' });
  await d.stop();
  fx.assertNoSecretsLogged(a);
  fx.assertNoSecretsLogged(d);
});

test('a certificate format the configuration asks for and cannot get: the error names the setting', async (t) => {
  const fx = await setup(t);
  const chain = makeChain(path.join(fx.dir, 'pki'));
  fx.d.kv.setSecret('roots', chain.pem.root + chain.pem.inter, { contentType: 'application/x-pem-file' });
  fx.d.kv.setSecret('text', 'just text');
  // Asked for explicitly, a plain secret holding a key and its chain is read
  // as a certificate whatever its content type.
  fx.d.kv.setSecret('kv-pem', chain.kvPem);
  const cases = [
    [{ name: 'roots', format: 'pfx' }, /\\"format\\": \\"pfx\\" asks for a certificate, but the PEM value has no readable private key/],
    [{ name: 'roots', split: true }, /\\"split\\": true asks for a certificate, but the PEM value has no readable private key/],
    [{ name: 'text', format: 'pem' }, /\\"format\\": \\"pem\\" asks for a certificate, but the value is neither PEM nor a PKCS#12 file/],
  ];
  for (const [obj, re] of cases) {
    const a = await once(fx, [obj]);
    assert.equal(a.code, 1, a.log());
    assert.match(a.log(), re);
    assert.equal(tryRead(fx.out, obj.name), null);
  }
  const a = await once(fx, [{ name: 'kv-pem', split: true }]);
  assert.equal(a.code, 0, a.log());
  assertKeyAndChain(fx.out, 'kv-pem', chain);
  assert.deepEqual(subjects(readOut(fx.out, 'kv-pem.ca.crt')), ['akvd test root']);
  fx.assertNoSecretsLogged(a);
});

test('objects that read one secret share one source: one GET per attempt, its outcome is each one\'s', async (t) => {
  const fx = await setup(t);
  fx.set('api', Buffer.from('api-value').toString('base64'));
  fx.set('fine', 'fine-v1');
  // "gone" is not in the vault: a 404 of the one GET is a failure of both
  // objects reading it; "api" is read three ways with one GET.
  const cfgPath = fx.write(fx.config([
    { name: 'gone' }, { name: 'gone', alias: 'gone-copy', optional: true },
    { name: 'api' }, { name: 'api', alias: 'api.txt', encoding: 'base64' },
    { name: 'api', alias: 'api.hex', encoding: 'base64', optional: true },
    { name: 'fine' },
  ], { interval: '1h' }));
  const a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  const gets = (p) => fx.d.kv.requests().filter((r) => r.path === p).length;
  assert.equal(gets('/secrets/gone'), 1);
  assert.equal(gets('/secrets/api'), 1);
  assert.match(a.log(), /object fetch failed object=gone .*reason="HTTP 404 SecretNotFound"/);
  assert.equal(a.log().match(/object fetch failed object=gone /g).length, 2);
  assert.equal(tryRead(fx.out, 'api'), Buffer.from('api-value').toString('base64'));
  assert.equal(tryRead(fx.out, 'api.txt'), 'api-value');
  assert.equal(tryRead(fx.out, 'api.hex'), 'api-value');
  // SIGUSR1: the source is fetched again, once, for all three.
  fx.set('api', Buffer.from('api-value-2').toString('base64'));
  a.kill('SIGUSR1');
  await until(() => tryRead(fx.out, 'api.txt') === 'api-value-2', { what: 'api.txt updated' });
  await until(() => tryRead(fx.out, 'api') === Buffer.from('api-value-2').toString('base64'), { what: 'api updated' });
  assert.equal(gets('/secrets/api'), 2);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('objects reading one secret render it each their own way: one that cannot is an error of that object only', async (t) => {
  const fx = await setup(t);
  fx.set('word', 'not base64 at all!');
  fx.set('other', 'other-v1');
  const cfgPath = fx.write(fx.config([
    { name: 'word' }, { name: 'word', alias: 'word.dec', encoding: 'base64', optional: true },
    { name: 'word', alias: 'word.hex', encoding: 'hex' }, { name: 'other' },
  ], { interval: '1h', listen: '127.0.0.1:0' }));
  const a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  const base = await healthEndpoint(a);
  assert.equal(fx.d.kv.requests().filter((r) => r.path === '/secrets/word').length, 1);
  assert.equal(tryRead(fx.out, 'word'), 'not base64 at all!');
  assert.equal(tryRead(fx.out, 'word.dec'), null);
  // A failure of each object that cannot render it (.dec, .hex), never of
  // the one that can, nor of the GET; never its value.
  assert.equal(a.log().match(/object fetch failed object=word /g).length, 2);
  assert.match(a.log(), /object fetch failed object=word .*reason="cannot render the object"/);
  // "word.hex" is required and cannot be decoded as hex either: not ready,
  // and it names that object.
  assert.equal(tryRead(fx.out, 'word.hex'), null);
  await until(async () => (await fetch(`${base}/readyz`)).status === 503, { what: 'not ready' });
  // Once the value can be read every way, each object gets it.
  fx.set('word', '6869');  // hex of "hi", and valid base64
  a.kill('SIGUSR1');
  await until(() => tryRead(fx.out, 'word.hex') === 'hi', { what: 'word.hex written' });
  assert.equal(tryRead(fx.out, 'word'), '6869');
  assert.deepEqual(fs.readFileSync(path.join(fx.out, 'word.dec')), Buffer.from('6869', 'base64'));
  await until(async () => (await fetch(`${base}/readyz`)).status === 200, { what: 'ready' });
  assert.match(a.log(), /object recovered object=word /);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});
