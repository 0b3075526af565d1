'use strict';
// stderr connected to the journal (systemd.exec(5): JOURNAL_STREAM holds
// stderr's "device:inode"): every line starts with its sd-daemon(3)
// priority, which journald turns into the entry's priority, and text lines
// carry no timestamp of their own.  Anything else: lines as always.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { setup } = require('./lib/setup');
const { BIN } = require('./lib/akvd');

const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info |warn |error) /;

// Run akvd --once with stderr on a file; JOURNAL_STREAM from fn(stat of
// that file, stat of another file).  Resolves to { code, lines }.
function runWithStderrFile(fx, cfgPath, args, journalStream) {
  const errFile = path.join(fx.dir, `stderr-${Math.random().toString(16).slice(2)}`);
  const other = path.join(fx.dir, 'other');
  fs.writeFileSync(other, '');
  const fd = fs.openSync(errFile, 'w');
  const js = journalStream(fs.fstatSync(fd, { bigint: true }), fs.statSync(other, { bigint: true }));
  const env = { ...process.env, NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' };
  if (js === undefined) delete env.JOURNAL_STREAM; else env.JOURNAL_STREAM = js;
  return new Promise((resolve) => {
    const p = spawn(BIN, ['--config', cfgPath, '--once', ...args], { env, stdio: ['ignore', 'ignore', fd] });
    p.on('exit', (code) => {
      fs.closeSync(fd);
      resolve({ code, lines: fs.readFileSync(errFile, 'utf8').split('\n').filter(Boolean) });
    });
  });
}

async function fixture(t) {
  const fx = await setup(t);
  fx.set('present', 'journal-value-1');
  // One object written, one missing: info and error lines, exit 1.
  const cfg = fx.write(fx.config([{ name: 'present' }, { name: 'missing' }], { timeout: '2s' }));
  return { fx, cfg };
}

test('JOURNAL_STREAM naming stderr: <N> priorities, no timestamps (text)', async (t) => {
  const { fx, cfg } = await fixture(t);
  const r = await runWithStderrFile(fx, cfg, ['--log-level', 'debug'], (st) => `${st.dev}:${st.ino}`);
  assert.equal(r.code, 1, r.lines.join('\n'));
  for (const l of r.lines) {
    assert.match(l, /^<[3467]>(debug|info |warn |error) \S/, l);
    assert.doesNotMatch(l, /\d{4}-\d\d-\d\dT\d\d:\d\d/, `no timestamp: ${l}`);
    const prio = { 7: 'debug', 6: 'info', 4: 'warn', 3: 'error' }[l[1]];
    assert.equal(l.slice(3).split(' ')[0], prio, `the priority is the level: ${l}`);
  }
  assert.ok(r.lines.some((l) => /^<6>info  akvd starting /.test(l)), r.lines.join('\n'));
  assert.ok(r.lines.some((l) => /^<3>error .*missing/.test(l)), r.lines.join('\n'));
  assert.ok(r.lines.some((l) => l.startsWith('<7>debug ')), 'debug lines at <7>');
  assert.ok(!r.lines.join('\n').includes('journal-value-1'));
});

test('JOURNAL_STREAM naming stderr with --log-format json: the prefix before each object', async (t) => {
  const { fx, cfg } = await fixture(t);
  const r = await runWithStderrFile(fx, cfg, ['--log-format', 'json'], (st) => `${st.dev}:${st.ino}`);
  assert.equal(r.code, 1);
  for (const l of r.lines) {
    const m = /^<([3467])>(\{.*\})$/.exec(l);
    assert.ok(m, l);
    const o = JSON.parse(m[2]);
    assert.equal(o.level, { 7: 'debug', 6: 'info', 4: 'warn', 3: 'error' }[m[1]]);
  }
  assert.ok(r.lines.some((l) => l.startsWith('<3>')));
});

for (const [what, js] of [
  ['unset', () => undefined],
  ['another file (same device, other inode)', (st, other) => `${other.dev}:${other.ino}`],
  ['the right inode on another device', (st) => `${st.dev + 1n}:${st.ino}`],
  ['malformed', () => 'journal'],
  ['trailing garbage', (st) => `${st.dev}:${st.ino}:1`],
  ['empty', () => ''],
]) {
  test(`JOURNAL_STREAM ${what}: plain timestamped lines`, async (t) => {
    const { fx, cfg } = await fixture(t);
    const r = await runWithStderrFile(fx, cfg, [], js);
    assert.equal(r.code, 1);
    assert.ok(r.lines.length > 0);
    for (const l of r.lines) assert.match(l, TS, l);
  });
}
