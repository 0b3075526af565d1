'use strict';
// SIGHUP (valid and invalid config), SIGUSR1 and SIGTERM.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setup } = require('./lib/setup');
const { until, tryRead, sleep } = require('./lib/akvd');

test('SIGHUP applies a valid config without a refetch storm, and keeps running on an invalid one', async (t) => {
  const fx = await setup(t);
  fx.set('kept', 'kept-value');
  fx.set('dropped', 'dropped-value');
  fx.set('added', 'added-value');
  const cfgPath = fx.write(fx.config([{ name: 'kept' }, { name: 'dropped' }], { interval: '1h' }));
  const a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  const tokens = fx.d.entra.issued().length;

  // Invalid: logged with its JSON path, the old config keeps running.
  fs.writeFileSync(cfgPath, JSON.stringify(fx.config([{ name: 'kept', alias: '../escape' }])));
  let mark = a.lines.length;
  a.kill('SIGHUP');
  await a.waitLog(/objects\[0\]\.alias/, { from: mark });
  await a.waitLog(/configuration not reloaded/, { from: mark });
  assert.equal(tryRead(fx.out, 'kept'), 'kept-value');
  assert.equal(tryRead(fx.out, 'dropped'), 'dropped-value');

  // Valid: "added" is fetched at once, "dropped" disappears, "kept" is not refetched.
  fx.d.kv.clearRequests();
  fs.writeFileSync(cfgPath, JSON.stringify(fx.config([{ name: 'kept' }, { name: 'added' }], { interval: '1h' })));
  mark = a.lines.length;
  a.kill('SIGHUP');
  await until(() => tryRead(fx.out, 'added') === 'added-value', { what: 'new object' });
  await until(() => tryRead(fx.out, 'dropped') === null, { what: 'removed object' });
  assert.equal(tryRead(fx.out, 'kept'), 'kept-value');
  await sleep(500);
  const paths = fx.d.kv.requests().map((r) => r.path);
  assert.deepEqual(paths.filter((p) => p.startsWith('/secrets/kept')), []);
  assert.equal(paths.filter((p) => p.startsWith('/secrets/added')).length, 1);
  assert.equal(fx.d.entra.issued().length, tokens, 'the token was kept');
  assert.equal(fs.existsSync(path.join(fx.out, 'dropped')), false);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('SIGUSR1 fetches every object now; SIGTERM exits 0', async (t) => {
  const fx = await setup(t);
  fx.set('a', 'usr1-a-1');
  fx.set('b', 'usr1-b-1');
  const a = fx.start(fx.write(fx.config([{ name: 'a' }, { name: 'b' }], { interval: '1h' })));
  await a.waitLog(/snapshot written/);
  fx.set('a', 'usr1-a-2');
  await sleep(1500);
  assert.equal(tryRead(fx.out, 'a'), 'usr1-a-1', 'no poll before the 1 h interval');
  a.kill('SIGUSR1');
  await until(() => tryRead(fx.out, 'a') === 'usr1-a-2', { what: 'resync' });
  const r = await a.stop();
  assert.equal(r.code, 0);
  assert.match(a.log(), /stopping.*signal=TERM/);
  // Files stay after akvd stops: the app keeps reading them.
  assert.equal(tryRead(fx.out, 'b'), 'usr1-b-1');
});

test('a restart during an outage keeps the files it cannot refetch', async (t) => {
  const fx = await setup(t);
  fx.set('keep', 'survives-restart');
  const cfgPath = fx.write(fx.config([{ name: 'keep' }]));
  const a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  await a.stop();
  fx.d.kv.fault({ match: '/secrets/', status: 503 });
  const b = fx.start(cfgPath);
  await b.waitLog(/adopted the existing snapshot/);
  await b.waitLog(/object fetch failed.*HTTP 503/);
  await sleep(1500);
  assert.equal(tryRead(fx.out, 'keep'), 'survives-restart');
  await b.stop();
});
