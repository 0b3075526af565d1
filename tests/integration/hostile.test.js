'use strict';
// Hostile servers: Key Vault and Entra ID answers that are malformed,
// truncated, oversized, gzip bombs, huge headers, a slow drip, redirects
// to other hosts, challenges that point elsewhere, and TLS that must not
// be trusted (unknown CA, wrong host name).  Each is an error of that
// object (or token), the file on disk keeps its last good value, nothing
// (no request, no bearer token, no assertion) goes to another host, and
// akvd recovers when the server behaves again.  (Absurd token lifetimes
// and numbers: auth.test.js.)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');
const zlib = require('node:zlib');
const { execFileSync } = require('node:child_process');
const { setup } = require('./lib/setup');
const { until, readOut, tryRead } = require('./lib/akvd');
const { makePki } = require('../fakes/pki');

// An HTTPS server that records every request it gets: another host
// (served as "localhost", which the doubles' certificate also names, so a
// client that followed a redirect there would get through).
async function recorder(t, tls) {
  const seen = [];
  const srv = https.createServer(tls, (req, res) => {
    seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization || null });
    req.resume();
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"value":"from-elsewhere","id":"https://localhost/secrets/doc/0123"}');
  });
  const tlsErrors = [];
  srv.on('tlsClientError', (e) => tlsErrors.push(e.code || e.message));
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const sockets = new Set();
  srv.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  t.after(() => new Promise((r) => { for (const s of sockets) s.destroy(); srv.close(() => r()); }));
  return { port: srv.address().port, seen, tlsErrors };
}

function tlsOf(fx) {
  const dir = path.join(fx.dir, 'doubles');
  return { key: fs.readFileSync(path.join(dir, 'server.key')), cert: fs.readFileSync(path.join(dir, 'server.pem')) };
}

// Peak resident memory of a process, in KiB.
function peakRss(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

// A secret "doc" synced; then Key Vault answers with ${fault} while a new
// version waits: the failure is logged (${logRe}), the file keeps the old
// value; once the fault is cleared, the new value arrives.
async function keepsFileThenRecovers(t, fault, { logRe = /object fetch failed.*object=doc/, config = {},
  during, prepare } = {}) {
  const fx = await setup(t);
  if (prepare) await prepare(fx);
  fx.set('doc', 'doc-value-one');
  const a = fx.start(fx.write(fx.config([{ name: 'doc' }], { interval: '1s', timeout: '2s', ...config })));
  await a.waitLog(/snapshot written/);
  const from = a.lines.length;
  fx.d.kv.fault({ match: '/secrets/doc', ...fault });
  fx.set('doc', 'doc-value-two');
  const { line } = await a.waitLog(logRe, { from, timeout: 20000 });
  if (during) await during(fx, a, line);
  assert.equal(readOut(fx.out, 'doc'), 'doc-value-one');
  fx.d.kv.clearFaults();
  await until(() => tryRead(fx.out, 'doc') === 'doc-value-two', { timeout: 20000, what: 'recovery' });
  assert.equal((await a.stop()).code, 0);
  fx.assertNoSecretsLogged(a);
  return { fx, a, line };
}

// --- malformed and truncated ---------------------------------------------

const BODIES = {
  'truncated (Content-Length unmet, connection closed)': (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '4000' });
    res.write('{"value":"doc-va');
    setTimeout(() => res.socket.destroy(), 50);
    return 200;
  },
  'truncated chunked body': (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"value":"doc-value-');
    setTimeout(() => res.socket.destroy(), 50);
    return 200;
  },
  'not JSON (an HTML error page)': (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
    return 200;
  },
  'JSON of the wrong shape': (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"value":5,"id":["x"],"attributes":"on"}');
    return 200;
  },
  'an empty 200': (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '0' });
    res.end();
    return 200;
  },
  'deeply nested JSON': (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(`{"value":${'['.repeat(200000)}`);
    return 200;
  },
  'an error status with a garbage body': (req, res) => {
    res.writeHead(500, { 'Content-Type': 'application/json' });
    res.end('\x00\xff{"error":');
    return 500;
  },
};

for (const [what, raw] of Object.entries(BODIES)) {
  test(`Key Vault answers ${what}: an error that keeps the file`, async (t) => {
    await keepsFileThenRecovers(t, { raw });
  });
}

// --- oversized -----------------------------------------------------------

// 200 MiB of JSON that gzip makes about 200 KiB of.
let bomb;
function gzipBomb() {
  if (!bomb) {
    const z = zlib.createGzip({ level: 9 });
    const parts = [];
    z.on('data', (c) => parts.push(c));
    const chunk = Buffer.alloc(1 << 20, 0x41);
    z.write('{"value":"');
    for (let i = 0; i < 200; i++) z.write(chunk);
    z.write('"}');
    bomb = new Promise((r) => z.on('end', () => r(Buffer.concat(parts))));
    z.end();
  }
  return bomb;
}

test('Key Vault answers a gzip bomb (200 MiB in 200 KiB): refused at the limit, memory bounded', async (t) => {
  const body = await gzipBomb();
  assert.ok(body.length < 1 << 20);
  await keepsFileThenRecovers(t, {
    raw: (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
      res.end(body);
      return 200;
    },
  }, {
    logRe: /object fetch failed.*object=doc.*larger than/,
    during: async (fx, a) => {
      // The 200 MiB were never held (the sanitized build's own
      // footprint is well under this).
      assert.ok(peakRss(a.proc.pid) < 160 * 1024, `peak RSS ${peakRss(a.proc.pid)} KiB`);
    },
  });
});

test('Key Vault answers a body larger than max_response_size without Content-Length', async (t) => {
  await keepsFileThenRecovers(t, {
    raw: (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"value":"');
      for (let i = 0; i < 64; i++) res.write('x'.repeat(64 * 1024));
      res.end('"}');
      return 200;
    },
  }, { logRe: /object fetch failed.*object=doc.*larger than/ });
});

test('Key Vault answers a huge header line, and then thousands of headers', async (t) => {
  await keepsFileThenRecovers(t, {
    times: 3,
    raw: (req, res) => {
      res.setHeader('X-Padding', 'p'.repeat(300 * 1024));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"value":"doc-value-huge"}');
      return 200;
    },
  });
  await keepsFileThenRecovers(t, {
    times: 3,
    raw: (req, res) => {
      for (let i = 0; i < 8000; i++) res.setHeader(`X-H-${i}`, 'h'.repeat(100));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"value":"doc-value-many"}');
      return 200;
    },
  });
});

// --- slow ------------------------------------------------------------------

test('Key Vault drips a byte at a time: the request times out', async (t) => {
  const timers = new Set();
  t.after(() => { for (const x of timers) clearInterval(x); });
  const { line } = await keepsFileThenRecovers(t, {
    raw: (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const x = setInterval(() => { if (!res.destroyed) res.write(' '); }, 100);
      timers.add(x);
      res.on('close', () => { clearInterval(x); timers.delete(x); });
      return 200;
    },
  });
  assert.match(line, /timed out/i);
});

// --- redirects -------------------------------------------------------------

for (const status of [301, 302, 307, 308]) {
  test(`Key Vault redirects (${status}) to another host: not followed, no token leaves`, async (t) => {
    let other;
    await keepsFileThenRecovers(t, {
      raw: (req, res) => {
        res.writeHead(status, { Location: `https://localhost:${other.port}/secrets/doc?api-version=7.4` });
        res.end();
        return status;
      },
    }, { prepare: async (fx) => { other = await recorder(t, tlsOf(fx)); } });
    assert.deepEqual(other.seen, []);
  });
}

// Entra ID answers with ${raw} to a fresh akvd (a refused token request
// backs off for up to a minute): the failure is logged, no file written.
async function entraFault(fx, raw, logRe = /token request (failed|refused)|bad token response/) {
  fx.d.entra.fault({ times: 1, raw });
  const a = fx.start(fx.write(fx.config([{ name: 'doc' }], { interval: '1s', timeout: '2s' })));
  await a.waitLog(logRe);
  a.peak = peakRss(a.proc.pid);
  assert.equal((await a.stop()).code, 0);
  fx.assertNoSecretsLogged(a);
  return a;
}

async function entraRecovers(fx) {
  const a = fx.start(fx.write(fx.config([{ name: 'doc' }], { interval: '1s', timeout: '2s' })));
  await until(() => tryRead(fx.out, 'doc') === 'doc-value-one', { what: 'a token, then the file' });
  assert.equal((await a.stop()).code, 0);
}

test('Entra ID redirects the token request to another host: no assertion or secret leaves', async (t) => {
  const fx = await setup(t);
  const other = await recorder(t, tlsOf(fx));
  fx.set('doc', 'doc-value-one');
  for (const status of [301, 302, 307, 308]) {
    await entraFault(fx, (req, res) => {
      res.writeHead(status, { Location: `https://localhost:${other.port}/t/oauth2/v2.0/token` });
      res.end();
      return status;
    });
    assert.equal(tryRead(fx.out, 'doc'), null);
  }
  assert.deepEqual(other.seen, []);
  await entraRecovers(fx);
});

// --- Entra ID answers --------------------------------------------------------

test('Entra ID answers garbage, a truncated body, a gzip bomb, huge headers: errors, then a token', async (t) => {
  const fx = await setup(t);
  const body = await gzipBomb();
  fx.set('doc', 'doc-value-one');
  const json = { 'Content-Type': 'application/json' };
  const faults = [
    (req, res) => { res.writeHead(200, json); res.end('<html>'); return 200; },
    (req, res) => { res.writeHead(200, json); res.write('{"access_token":"ey'); setTimeout(() => res.socket.destroy(), 20); return 200; },
    (req, res) => { res.writeHead(200, { ...json, 'Content-Encoding': 'gzip' }); res.end(body); return 200; },
    (req, res) => { res.setHeader('X-Padding', 'p'.repeat(300 * 1024)); res.writeHead(200, json); res.end('{}'); return 200; },
    (req, res) => { res.writeHead(400, json); res.end('{"error":{"nested":"wrong shape"},"error_codes":"x"}'); return 400; },
  ];
  for (const raw of faults) {
    const a = await entraFault(fx, raw);
    assert.ok(a.peak < 160 * 1024, `peak RSS ${a.peak} KiB`);
    assert.equal(tryRead(fx.out, 'doc'), null);
  }
  await entraRecovers(fx);
});

// --- foreign challenges ------------------------------------------------------

test('a 401 challenge pointing elsewhere: no token for a foreign resource, none sent there', async (t) => {
  let other;
  const challenges = ['Bearer realm=""'];
  await keepsFileThenRecovers(t, {
    raw: (req, res) => {
      res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': challenges[0] });
      res.end('{"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}}');
      return 401;
    },
  }, {
    logRe: /challenge's resource is not a parent|object fetch failed.*object=doc/,
    prepare: async (fx) => { other = await recorder(t, tlsOf(fx)); },
    during: async (fx) => {
      // Change the challenge while it is failing: a look-alike vault
      // resource, a foreign host, a foreign authority.
      for (const c of [
        `Bearer authorization="https://localhost:${other.port}/${fx.d.tenantId}", resource="https://vault.azure.net.evil.example"`,
        `Bearer authorization="https://localhost:${other.port}/${fx.d.tenantId}", resource="https://localhost:${other.port}"`,
        `Bearer authorization_uri="https://localhost:${other.port}/evil", scope="https://evil.example/.default"`,
      ]) {
        challenges.unshift(c);
        const n = fx.d.kv.requests().length;
        await until(() => fx.d.kv.requests().length >= n + 3, { timeout: 20000, what: 'more attempts' });
      }
      // Every token asked for was for Key Vault, and asked of Entra ID.
      for (const r of fx.d.entra.requests()) assert.equal(r.form.scope, 'https://vault.azure.net/.default');
      assert.deepEqual(other.seen, []);
    },
  });
});

// --- TLS that must not be trusted ------------------------------------------

async function badTlsServer(t, fx, kind) {
  let tls;
  if (kind === 'unknown CA') {
    const p = makePki(path.join(fx.dir, 'stranger'));
    tls = { key: p.key, cert: p.cert };
  } else {
    // The run's CA, for a name that is not the one akvd connects to.
    const d = path.join(fx.dir, 'doubles');
    const f = (n) => path.join(fx.dir, n);
    execFileSync('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', f('wrong.key'), '-out', f('wrong.csr'), '-subj', '/CN=wrong.example'], { stdio: 'ignore' });
    fs.writeFileSync(f('wrong.ext'), 'subjectAltName=DNS:wrong.example\nextendedKeyUsage=serverAuth\n');
    execFileSync('openssl', ['x509', '-req', '-in', f('wrong.csr'), '-CA', path.join(d, 'ca.pem'),
      '-CAkey', path.join(d, 'ca.key'), '-CAcreateserial', '-days', '2', '-out', f('wrong.pem'),
      '-extfile', f('wrong.ext')], { stdio: 'ignore' });
    tls = { key: fs.readFileSync(f('wrong.key')), cert: fs.readFileSync(f('wrong.pem')) };
  }
  return recorder(t, tls);
}

for (const kind of ['unknown CA', 'wrong host name']) {
  test(`Key Vault with ${kind}: refused, no request and no token sent`, async (t) => {
    const fx = await setup(t);
    const bad = await badTlsServer(t, fx, kind);
    const cfg = fx.config([{ name: 'doc' }], { interval: '1s', timeout: '2s', vault: `https://127.0.0.1:${bad.port}` });
    const a = fx.start(fx.write(cfg));
    const { line } = await a.waitLog(/object fetch failed.*object=doc/);
    assert.match(line, /certificate|SSL|TLS/i);
    assert.equal(tryRead(fx.out, 'doc'), null);
    assert.deepEqual(bad.seen, []);
    assert.equal((await a.stop()).code, 0);
  });

  test(`Entra ID with ${kind}: refused, the assertion never sent`, async (t) => {
    const fx = await setup(t);
    const bad = await badTlsServer(t, fx, kind);
    const cfg = fx.config([{ name: 'doc' }], { interval: '1s', timeout: '2s' });
    cfg.auth.authority_host = `https://127.0.0.1:${bad.port}/`;
    const a = fx.start(fx.write(cfg));
    const { line } = await a.waitLog(/token request failed/);
    assert.match(line, /certificate|SSL|TLS/i);
    assert.deepEqual(bad.seen, []);
    assert.equal(fx.d.kv.requests().filter((r) => r.authorized).length, 0);
    assert.equal((await a.stop()).code, 0);
    fx.assertNoSecretsLogged(a);
  });
}
