'use strict';
// Crash torture: akvd is killed with SIGKILL again and again, at random
// instants and right at the commit step, while the vault rotates a related
// pair (user and pass, always set together) and a reader (the C program
// tests/helpers/pair_reader.c) checks every read.  Nothing may be missing,
// empty, torn, go back a generation or, read through one open of ..data/,
// mixed; hidden directories stay bounded and are cleaned by the next start.
//   AKVD_TORTURE_KILLS=N   kills (default 100)

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { setup } = require('./lib/setup');
const { ROOT, sleep, until, tryRead } = require('./lib/akvd');

const SIZE = 4096;
const KILLS = Number(process.env.AKVD_TORTURE_KILLS || 100);
const value = (name, g) => `${name}-${g}-`.padEnd(SIZE, '#');
const SNAPSHOT = /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d{9,10}$/;

function hidden(out) {
  return fs.readdirSync(out).filter((n) => n.startsWith('..')).sort();
}

// Busy-wait ${us} microseconds: a timer is far too coarse here.
function spin(us) {
  const end = process.hrtime.bigint() + BigInt(Math.round(us * 1000));
  while (process.hrtime.bigint() < end);
}

test(`${KILLS} SIGKILLs during rotations of a pair under a reader`, { timeout: 180000 }, async (t) => {
  const fx = await setup(t);
  let g = 0;
  fx.set('user', value('user', g));
  fx.set('pass', value('pass', g));
  const cfg = fx.write(fx.config([{ name: 'user' }, { name: 'pass' }], { interval: '1h' }));
  let a = fx.start(cfg, ['--log-level', 'info']);
  await a.waitLog(/snapshot written/);
  await a.stop();

  const stop = path.join(fx.dir, 'stop');
  const reader = spawn(path.join(ROOT, 'build', 'test', 'pair_reader'), [fx.out, String(SIZE), stop],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  let report = '';
  reader.stdout.on('data', (b) => { report += b; });
  const readerDone = new Promise((r) => reader.on('exit', r));
  t.after(() => { if (reader.exitCode === null) reader.kill('SIGKILL'); });

  let atCommit = 0, midCommit = 0, maxHidden = 0;
  for (let k = 0; k < KILLS; k++) {
    g++;
    fx.d.kv.setSecret('user', value('user', g));
    fx.d.kv.setSecret('pass', value('pass', g));
    a = fx.start(cfg, ['--log-level', 'info']);
    if (k % 2 === 0) {
      // At a random instant of a start: config, token, fetches, commit.
      await sleep(Math.random() * 300);
      a.kill('SIGKILL');
    } else {
      // At the commit step: the second object's "object updated" line is
      // written just before the snapshot is; kill within ~1.5 ms of
      // reading it (or of the first one, now and then).
      atCommit++;
      const which = Math.random() < 0.8 ? 2 : 1;
      const delay = Math.random() * 1500;
      let seen = 0;
      a.proc.stderr.on('data', (b) => {
        seen += (b.toString().match(/object (updated|fetched)/g) || []).length;
        if (seen >= which) {
          spin(delay);
          a.kill('SIGKILL');
        }
      });
      await Promise.race([a.exited, sleep(5000)]);
      a.kill('SIGKILL');
    }
    await a.exited;
    const h = hidden(fx.out);
    maxHidden = Math.max(maxHidden, h.length);
    if (h.some((n) => n === '..data_tmp' || n === '..link_tmp') ||
        h.filter((n) => SNAPSHOT.test(n)).length > 1) midCommit++;
    // ..data, ..data_tmp, ..link_tmp, the current snapshot, one being
    // written, at most 4 replaced ones in their grace period for readers
    // of ..data/ (writer.h), and one left by the kill before (the start
    // cleans it).
    assert.ok(h.length <= 10, `hidden entries after kill ${k}: ${h.join(' ')}`);
    assert.ok(h.every((n) => n === '..data' || n === '..data_tmp' || n === '..link_tmp' || SNAPSHOT.test(n)),
      `unexpected hidden entries: ${h.join(' ')}`);
  }

  // A clean run ends it: the last generation, and only what it needs.
  a = fx.start(cfg, ['--log-level', 'info']);
  await until(() => tryRead(fx.out, 'user') === value('user', g) && tryRead(fx.out, 'pass') === value('pass', g),
    { what: `generation ${g} after the torture` });
  await a.waitLog(/snapshot written/);
  await sleep(200);
  fs.writeFileSync(stop, '');
  await readerDone;
  const h = hidden(fx.out);
  assert.equal((await a.stop()).code, 0);
  const s = JSON.parse(report);
  t.diagnostic(`reader: ${report.trim()}`);
  t.diagnostic(`kills ${KILLS} (${atCommit} at the commit step), left mid-commit ${midCommit}, ` +
    `hidden entries at most ${maxHidden}`);
  assert.deepEqual(s.errors, []);
  assert.equal(s.missing + s.torn + s.mixed + s.regress, 0);
  assert.ok(s.reads > 1000, `reader made ${s.reads} reads`);
  assert.ok(s.pairs > 100, `reader checked ${s.pairs} snapshot pairs`);
  assert.equal(s.max_gen, g);
  assert.ok(!h.includes('..data_tmp') && !h.includes('..link_tmp'), `left over: ${h.join(' ')}`);
  const snaps = h.filter((n) => SNAPSHOT.test(n));
  assert.ok(snaps.includes(fs.readlinkSync(path.join(fx.out, '..data'))));
  // The current snapshot, and at most 4 replaced ones still in their grace
  // period (kept for readers that opened ..data/ before a swap).
  assert.ok(snaps.length >= 1 && snaps.length <= 5, `snapshot directories: ${snaps.join(' ')}`);
  fx.assertNoSecretsLogged(a);
});
