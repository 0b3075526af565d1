'use strict';
// Change detection per vault (issue 12): instead of one GET per configured
// secret and cycle, a cycle lists the vault (pages of 25) when that is
// cheaper and GETs only what moved; a vault that forbids listing gets one
// GET per secret (said once in the log); a pinned version and every object
// are fetched anyway every 10 cycles.  Counted from the Key Vault double's
// request log.

const crypto = require('node:crypto');
const path = require('node:path');
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup } = require('./lib/setup');
const { until, tryRead, readOut } = require('./lib/akvd');
const { makeChain } = require('../fakes/pki');

const SAFETY = 10;

// Requests the double served (no 401 probe), in order.
function served(kv) {
  return kv.requests().filter((r) => r.status !== 401);
}
const isFirstList = (r) => r.path === '/secrets' && !r.query.$skiptoken;
const isList = (r) => r.path === '/secrets';
const getsOf = (reqs, name) => reqs.filter((r) => r.path === `/secrets/${name}`).length;

// The complete cycles in ${reqs}: the requests from one first list page to
// the next.
function listCycles(reqs) {
  const starts = reqs.map((r, i) => (isFirstList(r) ? i : -1)).filter((i) => i >= 0);
  const cycles = [];
  for (let k = 0; k + 1 < starts.length; k++) {
    const c = reqs.slice(starts[k], starts[k + 1]);
    cycles.push({ lists: c.filter(isList).length, gets: c.filter((r) => !isList(r)).map((r) => r.path) });
  }
  return cycles;
}

test('20 secrets configured in a vault of 30: ceil(30/25) list pages + 1 GET per changed, deleted or disabled secret', async (t) => {
  const fx = await setup(t);
  const names = Array.from({ length: 30 }, (_, i) => `s${i}`);
  for (const n of names) fx.set(n, `value-${n}`);
  const cfg = fx.config(names.slice(0, 20).map((name) => ({ name })));
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  // The first cycle GETs each one (nothing held); the next ones list.
  await a.waitLog(/vault listed.*pages=2/);
  fx.d.kv.clearRequests();
  await until(() => served(fx.d.kv).filter(isFirstList).length >= 3, { timeout: 20000, what: 'quiet cycles' });
  const quiet = listCycles(served(fx.d.kv));
  assert.ok(quiet.length >= 2);
  for (const c of quiet) assert.deepEqual(c, { lists: 2, gets: [] });

  // One changed, one deleted: a GET of each, and nothing else.
  fx.set('s3', 'value-s3-rotated');
  fx.d.kv.deleteSecret('s5');
  fx.d.kv.disableVersion('s8', fx.d.kv.secrets.get('s8').versions[0].version);
  fx.d.kv.clearRequests();
  await until(() => tryRead(fx.out, 's3') === 'value-s3-rotated', { timeout: 20000, what: 's3 rotated' });
  await until(() => served(fx.d.kv).filter(isFirstList).length >= 4, { timeout: 20000, what: 'cycles' });
  const after = listCycles(served(fx.d.kv));
  const changed = after.find((c) => c.gets.includes('/secrets/s3'));
  assert.ok(changed, 'a cycle fetched s3');
  assert.equal(changed.lists, 2);
  assert.deepEqual(changed.gets.slice().sort(), ['/secrets/s3', '/secrets/s5', '/secrets/s8']);
  // The deleted and the disabled one are asked for every cycle (404 and
  // 403, as without listing, their files kept); no other secret is.
  const odd = ['/secrets/s3', '/secrets/s5', '/secrets/s8'];
  for (const c of after) {
    assert.equal(c.lists, 2);
    assert.deepEqual(c.gets.filter((p) => !odd.includes(p)), []);
  }
  assert.ok(fx.d.kv.requests().some((r) => r.path === '/secrets/s5' && r.status === 404));
  assert.ok(fx.d.kv.requests().some((r) => r.path === '/secrets/s8' && r.status === 403));
  assert.equal(readOut(fx.out, 's8'), 'value-s8');
  assert.equal(readOut(fx.out, 's7'), 'value-s7');
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('listing forbidden: one GET per secret per cycle, said once in the log; allowed again: listing resumes', async (t) => {
  const fx = await setup(t);
  const names = ['f0', 'f1', 'f2', 'f3', 'f4'];
  for (const n of names) fx.set(n, `value-${n}`);
  fx.d.kv.denyList('secrets');
  const a = fx.start(fx.write(fx.config(names.map((name) => ({ name })))));
  await a.waitLog(/listing the vault is forbidden/);
  fx.d.kv.clearRequests();
  await until(() => getsOf(served(fx.d.kv), 'f0') >= 5, { timeout: 20000, what: 'five cycles' });
  const reqs = served(fx.d.kv);
  const per = names.map((n) => getsOf(reqs, n));
  assert.ok(Math.max(...per) - Math.min(...per) <= 1, `GETs per secret: ${per}`);
  // Retried at most once per 10 cycles, and never logged again.
  assert.ok(reqs.filter(isList).length <= 1, `${reqs.filter(isList).length} list requests in 5 cycles`);
  assert.equal(a.log().match(/listing the vault is forbidden/g).length, 1);
  assert.match(a.log(), /listing the vault is forbidden.*vault=.*kind=secrets.*code=Forbidden/);
  assert.equal(readOut(fx.out, 'f3'), 'value-f3');

  // The permission granted: noticed within 10 cycles, said once.
  fx.d.kv.allowList('secrets');
  await a.waitLog(/listing the vault is allowed again/, { timeout: 30000 });
  fx.d.kv.clearRequests();
  await until(() => served(fx.d.kv).filter(isFirstList).length >= 3, { timeout: 20000, what: 'listing cycles' });
  for (const c of listCycles(served(fx.d.kv))) assert.deepEqual(c, { lists: 1, gets: [] });
  assert.equal(a.log().match(/listing the vault is forbidden/g).length, 1);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('a pinned version is not fetched every cycle; every object is fetched anyway every 10 cycles', async (t) => {
  const fx = await setup(t);
  for (const n of ['k0', 'k1', 'k2']) fx.set(n, `value-${n}`);
  const v1 = fx.set('pin', 'pinned-v1');
  fx.set('pin', 'pinned-v2');
  const a = fx.start(fx.write(fx.config([{ name: 'k0' }, { name: 'k1' }, { name: 'k2' },
    { name: 'pin', version: v1, alias: 'pinned' }])));
  await a.waitLog(/snapshot written/);
  assert.equal(readOut(fx.out, 'pinned'), 'pinned-v1');
  const pinPath = `/secrets/pin/${v1}`;
  // Until k0 is fetched again by the safety GET: cycles 2..10 list.
  await until(() => getsOf(served(fx.d.kv), 'k0') >= 2, { timeout: 30000, what: 'the safety GET' });
  let reqs = served(fx.d.kv);
  const k0 = reqs.map((r, i) => (r.path === '/secrets/k0' ? i : -1)).filter((i) => i >= 0);
  const between = reqs.slice(k0[0], k0[1]);
  assert.equal(between.filter(isFirstList).length, SAFETY - 1);
  // From the first listing to the last one before the safety round, no
  // GET of any object, the pinned one included.
  const lists = between.map((r, i) => (isList(r) ? i : -1)).filter((i) => i >= 0);
  assert.deepEqual(between.slice(lists[0], lists[lists.length - 1]).filter((r) => !isList(r)).map((r) => r.path), []);
  await until(() => served(fx.d.kv).filter((r) => r.path === pinPath).length >= 2, { timeout: 10000, what: 'pinned safety GET' });
  reqs = served(fx.d.kv);
  assert.equal(reqs.filter((r) => r.path === pinPath).length, 2);
  assert.equal(getsOf(reqs, 'k1'), 2);
  assert.equal(getsOf(reqs, 'k2'), 2);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('a huge vault with 2 configured secrets uses GETs; a small one with many uses the list; SIGUSR1 GETs all', async (t) => {
  const fx = await setup(t);
  fx.set('a-conf', 'value-a');
  for (let i = 0; i < 60; i++) fx.set(`m${i}`, `filler-${i}`);
  fx.set('z-conf', 'value-z');
  const a = fx.start(fx.write(fx.config([{ name: 'a-conf' }, { name: 'z-conf' }])));
  await a.waitLog(/snapshot written/);
  // One page taught that the vault is bigger than 2 GETs are worth.
  await a.waitLog(/vault listed.*pages=1/);
  await until(() => getsOf(served(fx.d.kv), 'a-conf') >= 2, { timeout: 20000, what: 'a GET after learning' });
  fx.d.kv.clearRequests();
  await until(() => getsOf(served(fx.d.kv), 'a-conf') >= 4, { timeout: 20000, what: 'GET cycles' });
  let reqs = served(fx.d.kv);
  assert.equal(reqs.filter(isList).length, 0);
  assert.ok(Math.abs(getsOf(reqs, 'a-conf') - getsOf(reqs, 'z-conf')) <= 1);
  await a.stop();

  // 2 configured in a vault of 3: one list page per cycle.
  const fy = await setup(t);
  for (const n of ['b0', 'b1', 'b2']) fy.set(n, `value-${n}`);
  const b = fy.start(fy.write(fy.config([{ name: 'b0' }, { name: 'b1' }])));
  await b.waitLog(/vault listed.*pages=1/);
  fy.d.kv.clearRequests();
  await until(() => served(fy.d.kv).filter(isFirstList).length >= 3, { timeout: 20000, what: 'listing cycles' });
  reqs = served(fy.d.kv);
  for (const c of listCycles(reqs)) assert.deepEqual(c, { lists: 1, gets: [] });
  // SIGUSR1 fetches every object, whatever a listing would say.
  fy.d.kv.clearRequests();
  b.kill('SIGUSR1');
  await until(() => getsOf(served(fy.d.kv), 'b0') >= 1 && getsOf(served(fy.d.kv), 'b1') >= 1,
    { timeout: 10000, what: 'a GET of each after SIGUSR1' });
  await b.stop();
});

test('keys and certificates are listed on /keys and /certificates', async (t) => {
  const fx = await setup(t);
  const jwk = () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  for (const n of ['k0', 'k1', 'k2']) fx.d.kv.setKey(n, jwk());
  const chain = makeChain(path.join(fx.dir, 'pki'));
  for (const n of ['c0', 'c1']) fx.d.kv.setCertificate(n, { leafPem: chain.pem.leaf, pfx: chain.pfx });
  const a = fx.start(fx.write(fx.config([
    ...['k0', 'k1', 'k2'].map((name) => ({ name, type: 'key', alias: `${name}.pub` })),
    ...['c0', 'c1'].map((name) => ({ name, type: 'cert', alias: `${name}.crt` })),
  ])));
  await a.waitLog(/vault listed.*kind=keys.*pages=1/);
  await a.waitLog(/vault listed.*kind=certificates.*pages=1/);
  fx.d.kv.clearRequests();
  const firstKeys = (r) => r.path === '/keys' && !r.query.$skiptoken;
  const lists = (r) => r.path === '/keys' || r.path === '/certificates';
  await until(() => served(fx.d.kv).filter(firstKeys).length >= 3, { timeout: 20000, what: 'listings' });
  let reqs = served(fx.d.kv);
  assert.deepEqual(reqs.filter((r) => !lists(r)).map((r) => r.path), []);
  assert.ok(Math.abs(reqs.filter(firstKeys).length - reqs.filter((r) => r.path === '/certificates').length) <= 1);
  const before = readOut(fx.out, 'k1.pub');
  fx.d.kv.setKey('k1', jwk());
  fx.d.kv.setCertificate('c1', { leafPem: chain.pem.leaf, pfx: chain.pfx });
  fx.d.kv.clearRequests();
  await until(() => readOut(fx.out, 'k1.pub') !== before &&
    served(fx.d.kv).some((r) => r.path === '/certificates/c1'), { timeout: 20000, what: 'k1 and c1 fetched' });
  await until(() => served(fx.d.kv).filter(firstKeys).length >= 2, { timeout: 20000, what: 'a listing more' });
  reqs = served(fx.d.kv);
  assert.deepEqual(reqs.filter((r) => !lists(r)).map((r) => r.path).sort(), ['/certificates/c1', '/keys/k1']);
  assert.equal(reqs.filter((r) => r.path.startsWith('/secrets')).length, 0);
  await a.stop();
});
