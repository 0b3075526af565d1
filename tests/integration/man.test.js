'use strict';
// The man pages: they lint clean, and akvd.json(5) documents exactly the
// keys the configuration parser accepts, each with a type, a default and
// an example.
//
// The accepted keys are not copied from the code: akvd itself is asked.
// For every object of the configuration (the parents of the documented
// keys, the keys documented as objects, and the objects the parser names
// in src/config*.c), akvd --check is given that object holding every
// identifier-like string literal of the sources; the keys it does not call
// "unknown key" are the accepted ones.
// A key added to the parser therefore fails this test until it has its
// ".It Cm PATH" entry in man/akvd.json.5 (format: see the top of that file).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { ROOT, BIN, tmpdir } = require('./lib/akvd');

const MAN5 = path.join(ROOT, 'man', 'akvd.json.5');
const MAN8 = path.join(ROOT, 'man', 'akvd.8');
const TYPES = new Set(['string', 'duration', 'integer', 'boolean', 'array of strings',
  'array of objects', 'object', 'string or object', 'map']);
const ENTRY = /^\.It Cm (\S+) Pq Vt (.+?) , No (default .+|required.*)$/;

// PATH -> { type, dflt, example } from the KEYS list of akvd.json(5).
function documented() {
  const lines = fs.readFileSync(MAN5, 'utf8').split('\n');
  const start = lines.indexOf('.Sh KEYS');
  assert.ok(start >= 0, 'akvd.json(5) has a KEYS section');
  const keys = new Map();
  let cur = null;
  for (let i = start + 1; i < lines.length && !lines[i].startsWith('.Sh '); i++) {
    const l = lines[i];
    if (l.startsWith('.It ')) {
      const m = ENTRY.exec(l);
      assert.ok(m, `akvd.json.5:${i + 1}: "${l}" is not ".It Cm PATH Pq Vt TYPE , No default VALUE"`);
      assert.ok(!keys.has(m[1]), `${m[1]} is documented twice`);
      cur = { type: m[2], dflt: m[3], example: false };
      keys.set(m[1], cur);
    } else if (l === '.Bd -literal -offset indent' && cur) {
      cur.example = true;
    }
  }
  return keys;
}

// "objects[].name" -> ["objects[]", "name"]
function split(p) {
  const i = p.lastIndexOf('.');
  return i < 0 ? ['', p] : [p.slice(0, i), p.slice(i + 1)];
}

function sourceLiterals() {
  const names = new Set();
  const locations = new Set();
  for (const dir of ['src', 'daemon']) {
    for (const f of fs.readdirSync(path.join(ROOT, dir))) {
      if (!f.endsWith('.c')) continue;
      const text = fs.readFileSync(path.join(ROOT, dir, f), 'utf8');
      for (const m of text.matchAll(/"([a-z][a-z0-9_]{0,39})"/g)) names.add(m[1]);
      // Objects the parser checks the keys of: check_keys(p, "auth", ...)
      // and the entries of arrays, named "objects[%zu]".
      for (const m of text.matchAll(/check_keys\([^,]+,\s*"([a-z_.]+)"/g)) locations.add(m[1]);
      for (const m of text.matchAll(/"([a-z_]+)\[%zu\]"/g)) locations.add(`${m[1]}[]`);
    }
  }
  return { names, locations };
}

// A configuration whose object at `loc` holds `keys` (all null).
function probeConfig(loc, keys) {
  const cfg = { output_dir: '/nonexistent/akvd-man-probe', vault: 'myvault', objects: [{ name: 'a' }] };
  let obj = cfg;
  if (loc !== '') {
    let parent = cfg;
    const segs = loc.split('.');
    segs.forEach((s) => {
      const arr = s.endsWith('[]');
      const k = arr ? s.slice(0, -2) : s;
      const next = k === 'objects' && arr ? { name: 'a' } : {};
      parent[k] = arr ? [next] : next;
      parent = next;
    });
    obj = parent;
  }
  for (const k of keys) if (!(k in obj)) obj[k] = null;
  return cfg;
}

// The keys of `names` that akvd reports as unknown at `loc`.
function unknownAt(dir, loc, names) {
  const prefix = loc === '' ? '' : `${loc.replace(/\[\]/g, '[0]')}.`;
  const unknown = new Set();
  const run = (batch) => {
    const file = path.join(dir, 'probe.json');
    fs.writeFileSync(file, JSON.stringify(probeConfig(loc, batch)));
    const r = spawnSync(BIN, ['--check', '-c', file], {
      encoding: 'utf8', env: { PATH: process.env.PATH, ASAN_OPTIONS: 'detect_leaks=0' },
    });
    assert.ok(r.status === 78 || r.status === 0, `akvd --check exited ${r.status}: ${r.stderr}`);
    if (/ more errors$/m.test(r.stderr) && batch.length > 1) {
      // Errors are capped: split until every key got its verdict.
      const h = Math.ceil(batch.length / 2);
      run(batch.slice(0, h));
      run(batch.slice(h));
      return;
    }
    for (const k of batch) {
      if (r.stderr.split('\n').some((l) => l.endsWith(`: ${prefix}${k}: unknown key`))) unknown.add(k);
    }
  };
  const list = [...names];
  for (let i = 0; i < list.length; i += 20) run(list.slice(i, i + 20));
  return unknown;
}

test('akvd.json(5) documents every key the parser accepts, and only those', () => {
  const doc = documented();
  const { names, locations } = sourceLiterals();
  for (const [p, e] of doc) {
    const [loc, key] = split(p);
    if (loc !== '') locations.add(loc);
    names.add(key);
    // The keys inside documented objects are checked too, documented or
    // not yet.
    if (/^object$|or object$/.test(e.type)) locations.add(p);
    if (e.type === 'array of objects') locations.add(`${p}[]`);
  }
  locations.add('');
  names.add('zz_surely_not_a_key');
  const dir = tmpdir('akvd-man-');
  const problems = [];
  try {
    for (const loc of locations) {
      const unknown = unknownAt(dir, loc, names);
      assert.ok(unknown.has('zz_surely_not_a_key'),
        `the probe of "${loc || '(top level)'}" did not reach the parser's key check`);
      for (const k of names) {
        const p = loc === '' ? k : `${loc}.${k}`;
        if (!unknown.has(k) && !doc.has(p)) problems.push(`accepted but not documented: ${p}`);
        if (unknown.has(k) && doc.has(p)) problems.push(`documented but not accepted: ${p}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(problems, [], 'akvd.json(5) out of step with the parser');
  for (const [p, e] of doc) {
    assert.ok(e.example, `${p} has no example (.Bd -literal -offset indent)`);
    assert.ok(TYPES.has(e.type), `${p}: type "${e.type}" is not one of ${[...TYPES].join(', ')}`);
  }
});

test('akvd(8) names every option of akvd --help, every exit status, and the signals', () => {
  const man = fs.readFileSync(MAN8, 'utf8');
  const help = execFileSync(BIN, ['--help'], { encoding: 'utf8' });
  for (const m of help.matchAll(/^\s+(?:-(\w), )?--([a-z-]+)/gm)) {
    assert.match(man, new RegExp(`Fl -${m[2]}\\b`), `--${m[2]} is missing from akvd(8)`);
    if (m[1]) assert.match(man, new RegExp(`Fl ${m[1]} ,`), `-${m[1]} is missing from akvd(8)`);
  }
  for (const s of ['SIGHUP', 'SIGUSR1', 'SIGTERM']) assert.match(man, new RegExp(`^\\.It ${s}`, 'm'));
  const exits = [...help.matchAll(/(\d+) (?:success|runtime|usage|configuration)/g)].map((m) => m[1]);
  assert.ok(exits.length >= 4, help);
  for (const e of exits) assert.match(man, new RegExp(`^\\.It ${e}$`, 'm'), `exit status ${e}`);
});

test('the man pages lint clean with mandoc', (t) => {
  if (spawnSync('mandoc', ['-V']).error) {
    t.skip('mandoc is not installed (scripts/install-deps.sh installs it)');
    return;
  }
  for (const f of [MAN8, MAN5]) {
    const r = spawnSync('mandoc', ['-Tlint', '-Wwarning', f], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${path.basename(f)}:\n${r.stdout}${r.stderr}`);
  }
});
