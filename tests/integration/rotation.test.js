'use strict';
// A reader running during 200 rotations never sees a missing, torn or
// mixed-snapshot file.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { setup } = require('./lib/setup');
const { until, tryRead } = require('./lib/akvd');

const SIZE = 4096;
const value = (name, g) => `${name}-${g}-`.padEnd(SIZE, '#');

test('200 rotations under a concurrent reader', { timeout: 240000 }, async (t) => {
  const fx = await setup(t);
  fx.set('user', value('user', 0));
  fx.set('pass', value('pass', 0));
  // Polling is driven by SIGUSR1 only, so both versions of a generation are
  // in Key Vault before akvd looks.
  const a = fx.start(fx.write(fx.config([{ name: 'user' }, { name: 'pass' }], { interval: '1h' })),
    ['--log-level', 'info']);
  await a.waitLog(/snapshot written/);

  const stop = path.join(fx.dir, 'stop');
  const reader = spawn(process.execPath, [path.join(__dirname, 'lib', 'reader.js'), fx.out, String(SIZE), stop],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  let report = '';
  reader.stdout.on('data', (b) => { report += b; });
  const done = new Promise((r) => reader.on('exit', r));

  for (let g = 1; g <= 200; g++) {
    fx.d.kv.setSecret('user', value('user', g));
    fx.d.kv.setSecret('pass', value('pass', g));
    a.kill('SIGUSR1');
    await until(() => tryRead(fx.out, 'pass') === value('pass', g) &&
      tryRead(fx.out, 'user') === value('user', g), { step: 5, what: `generation ${g}` });
  }
  fs.writeFileSync(stop, '');
  await done;
  const s = JSON.parse(report);
  assert.ok(s.reads > 1000, `reader made ${s.reads} reads`);
  assert.ok(s.pairs > 100, `reader checked ${s.pairs} snapshot pairs`);
  assert.deepEqual(s.errors, []);
  assert.equal(s.missing + s.torn + s.mixed + s.regress, 0);
  assert.equal(s.maxGen, 200);
  assert.equal(a.count(/snapshot written/), 201);
  // The current snapshot and at most 4 replaced ones still in their grace
  // period (for readers that opened ..data/ before a swap) are left.
  const hidden = fs.readdirSync(fx.out).filter((n) => n.startsWith('..') && n !== '..data');
  assert.ok(hidden.length >= 1 && hidden.length <= 5, `hidden names: ${hidden}`);
  assert.ok(hidden.includes(fs.readlinkSync(path.join(fx.out, '..data'))));
  await a.stop();
});
