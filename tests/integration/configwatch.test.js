'use strict';
// A changed configuration file is applied without SIGHUP: an edit in
// place, and the kubelet's ConfigMap update (a new ..TIMESTAMP directory,
// ..data swapped by rename, the old directory removed).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setup } = require('./lib/setup');
const { until, tryRead } = require('./lib/akvd');

// Write ${cfg} as a ConfigMap volume would: DIR/..TS/akvd.json,
// DIR/..data -> ..TS, DIR/akvd.json -> ..data/akvd.json.
function configMapWrite(dir, ts, cfg) {
  fs.mkdirSync(path.join(dir, ts));
  fs.writeFileSync(path.join(dir, ts, 'akvd.json'), JSON.stringify(cfg));
  const old = fs.existsSync(path.join(dir, '..data')) ? fs.readlinkSync(path.join(dir, '..data')) : null;
  fs.symlinkSync(ts, path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  if (!fs.existsSync(path.join(dir, 'akvd.json'))) fs.symlinkSync('..data/akvd.json', path.join(dir, 'akvd.json'));
  if (old) fs.rmSync(path.join(dir, old), { recursive: true });
}

test('a ConfigMap update is applied without a signal', async (t) => {
  const fx = await setup(t);
  fx.set('first', 'first-value');
  fx.set('second', 'second-value');
  const cm = path.join(fx.dir, 'cm');
  fs.mkdirSync(cm);
  configMapWrite(cm, '..2026_11_22_10_00_00.1', fx.config([{ name: 'first' }], { interval: '1h' }));
  const a = fx.start(path.join(cm, 'akvd.json'));
  await a.waitLog(/snapshot written/);
  assert.equal(tryRead(fx.out, 'second'), null);

  configMapWrite(cm, '..2026_11_22_10_01_00.2', fx.config([{ name: 'first' }, { name: 'second' }], { interval: '1h' }));
  await until(() => tryRead(fx.out, 'second') === 'second-value', { timeout: 30000, what: 'the object added by the update' });
  await a.waitLog(/configuration file changed/);
  assert.equal(tryRead(fx.out, 'first'), 'first-value');

  // An invalid update is refused; the files and the process stay.
  configMapWrite(cm, '..2026_11_22_10_02_00.3', { output_dir: fx.out });
  await a.waitLog(/configuration not reloaded/, { timeout: 30000 });
  assert.equal(tryRead(fx.out, 'second'), 'second-value');
  assert.equal(a.code, undefined, 'still running');
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('ConfigMap updates in the second akvd starts, and two in a row, are all applied', async (t) => {
  // ev_stat compares a directory's times in whole seconds: an update in the
  // same second as akvd's first look at the volume leaves the directory's
  // stat as it was. The file the path resolves to is watched too.
  const fx = await setup(t);
  fx.set('first', 'first-value');
  fx.set('second', 'second-value');
  fx.set('third', 'third-value');
  const cm = path.join(fx.dir, 'cm');
  fs.mkdirSync(cm);
  configMapWrite(cm, '..2026_11_22_10_00_00.1', fx.config([{ name: 'first' }], { interval: '1h' }));
  const a = fx.start(path.join(cm, 'akvd.json'));
  await a.waitLog(/akvd starting/);
  configMapWrite(cm, '..2026_11_22_10_01_00.2', fx.config([{ name: 'first' }, { name: 'second' }], { interval: '1h' }));
  await until(() => tryRead(fx.out, 'second') === 'second-value', { timeout: 30000, what: 'the first update' });
  configMapWrite(cm, '..2026_11_22_10_02_00.3', fx.config([{ name: 'third' }], { interval: '1h' }));
  await until(() => tryRead(fx.out, 'third') === 'third-value' && tryRead(fx.out, 'second') === null,
    { timeout: 30000, what: 'the second update' });
  await a.stop();
});

test('an edit in place is applied without a signal', async (t) => {
  const fx = await setup(t);
  fx.set('first', 'first-value');
  fx.set('second', 'second-value');
  const cfgPath = fx.write(fx.config([{ name: 'first' }], { interval: '1h' }));
  const a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  fs.writeFileSync(cfgPath, JSON.stringify(fx.config([{ name: 'second' }], { interval: '1h' })));
  await until(() => tryRead(fx.out, 'second') === 'second-value' && tryRead(fx.out, 'first') === null,
    { timeout: 30000, what: 'the edited configuration' });
  await a.stop();
});
