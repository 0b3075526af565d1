'use strict';
// TLS trust: the anchors akvd loads once per configuration (the system's
// plus tls.ca_file) and shares between connections.  Verification stays on
// and fails closed, and every new connection is checked against the
// anchors in force, even after a reload and a reconnect.

const test = require('node:test');
const assert = require('node:assert/strict');
const dns = require('node:dns/promises');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setup } = require('./lib/setup');
const { until, tryRead, readOut } = require('./lib/akvd');
const { makePki } = require('../fakes/pki');

// A CA of its own, which signed nothing the doubles present.
function otherCa(fx) {
  return makePki(path.join(fx.dir, 'other-pki')).caFile;
}

test('an untrusted server fails closed: without tls.ca_file, and with another CA\'s', async (t) => {
  const fx = await setup(t);
  fx.set('one', 'one-value');
  const other = otherCa(fx);
  for (const tls of [undefined, { ca_file: other }]) {
    const cfg = fx.config([{ name: 'one' }]);
    if (tls) cfg.tls = tls; else delete cfg.tls;
    const a = fx.start(fx.write(cfg));
    await a.waitLog(/certificate/i, { timeout: 15000 });
    assert.equal(tryRead(fx.out, 'one'), null, 'nothing written');
    await a.stop();
  }
  // No HTTP request got through a handshake.
  assert.equal(fx.d.entra.requests().length, 0);
  assert.equal(fx.d.kv.requests().length, 0);
});

test('a certificate for another host name fails closed', async (t) => {
  // A name of this machine that resolves to 127.0.0.1 and is not in the
  // doubles' certificate (IP:127.0.0.1, DNS:localhost).
  let host = os.hostname();
  try {
    const { address } = await dns.lookup(host, { family: 4 });
    if (address !== '127.0.0.1' || host === 'localhost') host = null;
  } catch { host = null; }
  if (host === null) {
    t.skip('no host name other than localhost resolves to 127.0.0.1');
    return;
  }
  const fx = await setup(t);
  fx.set('one', 'one-value');
  const cfg = fx.config([{ name: 'one' }]);
  cfg.vault = fx.d.vaultUrl.replace('127.0.0.1', host);
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/object fetch failed object=one .*(certificate|subject|host)/i, { timeout: 15000 });
  assert.equal(tryRead(fx.out, 'one'), null, 'nothing written');
  assert.equal(fx.d.kv.requests().length, 0, 'no request got through');
  await a.stop();
});

test('SIGHUP after tls.ca_file is rewritten with another CA: new connections no longer trust the old one', async (t) => {
  const fx = await setup(t);
  fx.set('ca', 'ca-value');
  const caFile = path.join(fx.dir, 'ca.pem');
  fs.copyFileSync(fx.d.caFile, caFile);
  const cfg = fx.config([{ name: 'ca' }], { interval: '1s', tls: { ca_file: caFile } });
  const a = fx.start(fx.write(cfg));
  await until(() => tryRead(fx.out, 'ca') === 'ca-value', { what: 'the first fetch' });
  // A few requests on the kept-alive connection first.
  await until(() => fx.d.kv.requests().length >= 3, { what: 'three requests' });
  fs.copyFileSync(otherCa(fx), caFile);
  const mark = a.lines.length;
  a.kill('SIGHUP');
  await a.waitLog(/configuration applied/, { from: mark });
  // Drop the kept-alive connection: the next request must connect anew,
  // with a full handshake checked against the new anchors.
  fx.d.kv.fault({ match: '/secrets/ca', reset: true, times: 1 });
  await a.waitLog(/object fetch failed object=ca .*certificate/i, { from: mark, timeout: 30000 });
  assert.equal(readOut(fx.out, 'ca'), 'ca-value', 'the file is kept');
  await a.stop();
});

test('SIGHUP adding tls.ca_file: the next connections trust it', async (t) => {
  const fx = await setup(t);
  fx.set('late', 'late-value');
  const cfg = fx.config([{ name: 'late' }], { interval: '1s' });
  const caFile = cfg.tls.ca_file;
  delete cfg.tls;
  const p = fx.write(cfg);
  const a = fx.start(p);
  await a.waitLog(/certificate/i, { timeout: 15000 });
  assert.equal(tryRead(fx.out, 'late'), null);
  cfg.tls = { ca_file: caFile };
  fx.write(cfg);
  a.kill('SIGHUP');
  await until(() => tryRead(fx.out, 'late') === 'late-value', { what: 'the fetch after the reload', timeout: 30000 });
  await a.stop();
});
