'use strict';
// A vault failing as a whole (5xx, connections reset, 429 on every
// request) is probed by one request per backoff step, not by each of its
// objects; when it answers again its objects go on together: every file
// fresh, and the next cycles list the vault once instead of a GET each.
// Observed through the double's request log, the files and the log.

const test = require('node:test');
const assert = require('node:assert/strict');
const { setup } = require('./lib/setup');
const { until, sleep, tryRead } = require('./lib/akvd');

const N = 10;
const name = (j) => `herd-${j}`;

const kinds = [
  { what: '503', fault: { match: '/', status: 503 }, reason: /HTTP 503/ },
  { what: 'connections reset', fault: { match: '/', reset: true }, reason: /request failed/ },
  { what: '429 with Retry-After', fault: { match: '/', status: 429, retryAfter: 2 }, reason: /HTTP 429/ },
];

for (const k of kinds) {
  test(`vault failing as a whole (${k.what}): one probe per backoff step, every object reported, fresh after`, async (t) => {
    const fx = await setup(t);
    for (let j = 0; j < N; j++) fx.set(name(j), `before-${j}`);
    const objects = Array.from({ length: N }, (_, j) => ({ name: name(j) }));
    const a = fx.start(fx.write(fx.config(objects)));
    await a.waitLog(/snapshot written/);
    // Every object held: the cycles list the vault (one request).
    await until(() => a.count(new RegExp(`vault listed.*unchanged=${N}`)) >= 1, { what: 'a listing' });

    fx.d.kv.clearRequests();
    fx.d.kv.fault(k.fault);
    const mark = a.lines.length;
    // Every object reports the outage as its own failure.
    await until(() => {
      const log = a.lines.slice(mark).join('\n');
      return objects.every((o) => new RegExp(`object fetch failed object=${o.name} .*`).test(log));
    }, { what: 'each object failing', timeout: 20000 });
    await sleep(9000);
    for (let j = 0; j < N; j++) fx.set(name(j), `after-${j}`);
    const during = fx.d.kv.requests();
    // The first cycle of the outage found it out: a listing, then the
    // GETs it released (at most one per object).  After that, one probe
    // per backoff step (1, 2, 4, 8 s; ±25%), not one per object and step.
    const first = new Map();
    const later = [];
    for (const r of during) {
      if (!first.has(r.path)) first.set(r.path, r);
      else later.push(r);
    }
    assert.ok(first.size <= N + 1, `${first.size} paths`);
    assert.ok(later.length <= 6, `${later.length} requests after the first of each path, ` +
      `in ${((during.at(-1).time - during[0].time) / 1000).toFixed(1)} s: ` +
      `${later.map((r) => r.path).join(' ')}`);
    for (let j = 0; j < N; j++) assert.equal(tryRead(fx.out, name(j)), `before-${j}`);
    assert.match(a.lines.slice(mark).join('\n'), k.reason);

    fx.d.kv.clearFaults();
    await until(() => objects.every((o, j) => tryRead(fx.out, o.name) === `after-${j}`),
      { what: 'every file fresh', timeout: 40000 });
    for (let j = 0; j < N; j++) assert.match(a.log(), new RegExp(`object recovered object=${name(j)} `));
    // Back in step: the next cycles list the vault once for all of them.
    const again = a.lines.length;
    await until(() => a.lines.slice(again).some((l) => new RegExp(`vault listed.*unchanged=${N}`).test(l)),
      { what: 'a listing of every object', timeout: 20000 });
    assert.equal((await a.stop()).code, 0);
    fx.assertNoSecretsLogged(a);
  });
}
