'use strict';
// "select": every enabled secret of a vault matching a prefix and tags,
// noticed as it comes and goes; a cycle costs ceil(N/25) list requests plus
// one GET per changed secret (read from the Key Vault double's log).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setup } = require('./lib/setup');
const { until, tryRead, readOut } = require('./lib/akvd');

// Requests of the double since the last clear, split into list requests
// and GETs of single secrets.
function traffic(kv) {
  const reqs = kv.requests().filter((r) => r.status !== 401);
  return {
    lists: reqs.filter((r) => r.path === '/secrets'),
    gets: reqs.filter((r) => /^\/secrets\/[^/]+$/.test(r.path)),
  };
}

test('select by prefix and tags over more than 25 secrets; new and deleted secrets; request counts', async (t) => {
  const fx = await setup(t);
  // 30 matching secrets, plus ones that must not be picked up.
  for (let i = 0; i < 30; i++) fx.set(`app1-s${i}`, `value-${i}`, { tags: { env: 'prod', n: String(i) } });
  fx.set('app1-staging', 'wrong-env', { tags: { env: 'staging' } });
  fx.set('app1-untagged', 'no-tags');
  fx.set('app2-other', 'other-app', { tags: { env: 'prod' } });
  fx.set('app1-off', 'disabled', { tags: { env: 'prod' }, enabled: false });
  fx.set('static', 'static-value');
  const cfg = fx.config([{ name: 'static' }], {
    select: [{ prefix: 'app1-', tags: { env: 'prod' }, strip_prefix: true, dir: 'app1' }],
    interval: '2s',
  });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  const names = fs.readdirSync(path.join(fx.out, 'app1')).sort();
  assert.deepEqual(names, Array.from({ length: 30 }, (_, i) => `s${i}`).sort());
  assert.equal(readOut(fx.out, 'app1/s7'), 'value-7');
  assert.equal(readOut(fx.out, 'static'), 'static-value');
  assert.equal(fs.statSync(path.join(fx.out, 'app1/s7')).mode & 0o777, 0o440);
  // The list asked for pages of 25 and followed nextLink.
  const first = traffic(fx.d.kv);
  assert.ok(first.lists.every((r) => r.query.maxresults === '25'));
  assert.ok(first.lists.some((r) => r.query.$skiptoken));
  assert.equal(first.gets.filter((r) => r.path.startsWith('/secrets/app1-')).length, 30);

  // Quiet cycles: 35 secrets in the vault = 2 list pages, no GET of a
  // selected secret (the static one has its own GET per cycle).
  fx.d.kv.clearRequests();
  await until(() => traffic(fx.d.kv).lists.filter((r) => !r.query.$skiptoken).length >= 3,
    { timeout: 20000, what: 'three quiet cycles' });
  const quiet = traffic(fx.d.kv);
  assert.equal(quiet.gets.filter((r) => r.path.startsWith('/secrets/app1-')).length, 0);
  const cycles = quiet.lists.filter((r) => !r.query.$skiptoken).length;
  const pages = quiet.lists.length;
  assert.ok(pages === 2 * cycles || pages === 2 * cycles - 1, `${pages} list requests in ${cycles} cycles`);

  // One changed, one created, one deleted, one re-tagged: exactly the
  // changed and the created one are fetched.
  fx.set('app1-s3', 'value-3-rotated', { tags: { env: 'prod' } });
  fx.set('app1-new', 'brand-new', { tags: { env: 'prod' } });
  fx.d.kv.deleteSecret('app1-s5');
  fx.set('app1-s9', 'value-9', { tags: { env: 'staging' } });
  fx.d.kv.clearRequests();
  await until(() => tryRead(fx.out, 'app1/new') === 'brand-new' &&
    tryRead(fx.out, 'app1/s3') === 'value-3-rotated' && tryRead(fx.out, 'app1/s5') === null &&
    tryRead(fx.out, 'app1/s9') === null, { timeout: 20000, what: 'the changes' });
  const changed = traffic(fx.d.kv).gets.map((r) => r.path).filter((p) => p.startsWith('/secrets/app1-')).sort();
  assert.deepEqual(changed, ['/secrets/app1-new', '/secrets/app1-s3']);
  assert.equal(fs.existsSync(path.join(fx.out, 'app1', 's5')), false);
  await a.waitLog(/selected secret gone.*secret=app1-s5/);
  await a.waitLog(/secret selected.*secret=app1-new.*alias=app1\/new/);
  assert.equal(readOut(fx.out, 'app1/s4'), 'value-4');
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('select: a name taken by a static object is skipped; --once writes the selection', async (t) => {
  const fx = await setup(t);
  fx.set('db-password', 'selected-one');
  fx.set('db-user', 'user-1');
  fx.set('password', 'static-one');
  const cfg = fx.config([{ name: 'password' }], {
    select: [{ prefix: 'db-', strip_prefix: true, mode: '0400' }],
  });
  const a = fx.start(fx.write(cfg), ['--once']);
  await a.exited;
  assert.equal(a.code, 0, a.log());
  assert.equal(readOut(fx.out, 'password'), 'static-one');
  assert.equal(readOut(fx.out, 'user'), 'user-1');
  assert.equal(fs.statSync(path.join(fx.out, 'user')).mode & 0o777, 0o400);
  assert.match(a.log(), /selected secret skipped: its file name is taken.*secret=db-password.*file=password.*by=password/);
});

test('select: a list the identity may not read is a clear error and --once fails', async (t) => {
  const fx = await setup(t);
  fx.set('x-one', 'one');
  fx.d.kv.fault({ match: /^\/secrets$/, status: 403, body: { error: { code: 'Forbidden',
    message: 'Caller is not authorized to perform action on resource.', innererror: { code: 'ForbiddenByRbac' } } } });
  const cfg = fx.config([], { select: [{ prefix: 'x-' }] });
  const a = fx.start(fx.write(cfg), ['--once']);
  await a.exited;
  assert.equal(a.code, 1, a.log());
  assert.match(a.log(), /object fetch failed.*object=select\[0\].*HTTP 403 Forbidden\/ForbiddenByRbac/);
  assert.equal(fs.existsSync(path.join(fx.out, 'x-one')), false);
});

test('SIGHUP: an unchanged select keeps its secrets without a GET; a new object takes a selected name', async (t) => {
  const fx = await setup(t);
  fx.set('s-one', 'one');
  fx.set('s-two', 'two');
  fx.set('two', 'static-two');
  const sel = { select: [{ prefix: 's-', strip_prefix: true }], interval: '1h' };
  const cfgPath = fx.write(fx.config([], sel));
  const a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  assert.equal(readOut(fx.out, 'two'), 'two');

  // Same select, plus a configured object named like a selected secret.
  fx.write(fx.config([{ name: 'two' }], sel));
  fx.d.kv.clearRequests();
  const mark = a.lines.length;
  a.kill('SIGHUP');
  await a.waitLog(/configuration applied/, { from: mark });
  await until(() => tryRead(fx.out, 'two') === 'static-two', { what: 'the configured object' });
  await a.waitLog(/selected secret dropped: its file name is taken.*secret=s-two.*by=two/, { from: mark });
  assert.equal(readOut(fx.out, 'one'), 'one');
  const gets = fx.d.kv.requests().map((r) => r.path).filter((p) => p.startsWith('/secrets/s-'));
  assert.deepEqual(gets, [], 'no selected secret was fetched again');
  await a.stop();
});

test('restart during an outage of GETs: the selected files stay; SIGHUP with a new encoding keeps a file its fetch fails for',
  async (t) => {
    const fx = await setup(t);
    fx.set('r-one', 'one');
    fx.set('r-two', 'two');
    fx.set('ok', 'reachable');
    const coded = Buffer.from('decoded-v1').toString('base64');
    fx.set('cfg', coded);
    const cfgPath = fx.write(fx.config([{ name: 'cfg' }, { name: 'ok' }], { select: [{ prefix: 'r-', strip_prefix: true }],
      interval: '1s' }));
    const a = fx.start(cfgPath);
    await until(() => tryRead(fx.out, 'one') === 'one' && tryRead(fx.out, 'two') === 'two',
      { timeout: 20000, what: 'the selected files' });
    await a.stop();

    // Listing works, and so does "ok"; the other GETs fail.
    fx.d.kv.fault({ match: /^\/secrets\/(r-|cfg)/, status: 503 });
    const b = fx.start(cfgPath);
    await b.waitLog(/object fetch failed object=r-one .*HTTP 503/);
    await b.waitLog(/object fetch failed object=r-two .*HTTP 503/);
    // A snapshot written now (the lister and every GET have been tried)
    // must hold the adopted files; a SIGHUP that re-encodes "cfg" makes
    // another one.
    fx.write(fx.config([{ name: 'cfg', encoding: 'base64' }, { name: 'ok' }], { select: [{ prefix: 'r-', strip_prefix: true }],
      interval: '1s' }));
    const mark = b.lines.length;
    b.kill('SIGHUP');
    await b.waitLog(/configuration applied/, { from: mark });
    await b.waitLog(/object fetch failed object=cfg .*HTTP 503/, { from: mark });
    await b.waitLog(/snapshot written/, { from: mark });
    assert.equal(readOut(fx.out, 'one'), 'one');
    assert.equal(readOut(fx.out, 'two'), 'two');
    assert.equal(readOut(fx.out, 'cfg'), coded, 'kept until a fetch succeeds');

    fx.d.kv.clearFaults();
    await until(() => tryRead(fx.out, 'cfg') === 'decoded-v1',
      { timeout: 20000, what: 'the re-encoded file' });
    assert.equal(readOut(fx.out, 'one'), 'one');
    await b.stop();
    fx.assertNoSecretsLogged(b);
  });
