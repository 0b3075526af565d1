'use strict';
// The Dockerfile.  No container engine here, so what can be checked is:
// the runtime stage installs exactly the Debian packages of the libraries
// the binary loads (ldd, mapped to packages with dpkg -S), it runs as a
// non-root user, and its ENTRYPOINT takes the configuration path.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ROOT } = require('./lib/akvd');

// Not libraries, but installed on purpose.
const NOT_LIBS = new Set(['ca-certificates']);

// The stages: { name, from, lines } with continuation lines joined.
function stages() {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const out = [];
  for (const l of text.split('\n')) {
    const s = l.trim();
    if (s === '' || s.startsWith('#')) continue;
    const m = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(s);
    if (m) out.push({ from: m[1], name: m[2] || null, lines: [] });
    else out[out.length - 1].lines.push(s);
  }
  return out;
}

function aptInstalls(stage) {
  const pkgs = [];
  for (const l of stage.lines) {
    for (const m of l.matchAll(/apt-get install((?:\s+[^\s&;]+)+)/g)) {
      pkgs.push(...m[1].trim().split(/\s+/).filter((w) => !w.startsWith('-')));
    }
  }
  return pkgs;
}

// The package owning a library; dpkg knows it under /lib or /usr/lib
// (merged /usr), by its path or its real path.
function owner(lib) {
  const cands = new Set([lib, fs.realpathSync(lib)]);
  for (const p of [...cands]) {
    cands.add(p.startsWith('/usr/') ? p.slice(4) : `/usr${p}`);
  }
  for (const p of cands) {
    const r = spawnSync('dpkg', ['-S', p], { encoding: 'utf8' });
    if (r.status === 0) return r.stdout.split(':')[0].trim();
  }
  throw new Error(`no Debian package holds ${lib}`);
}

test('the runtime stage installs exactly the packages of the libraries akvd loads', (t) => {
  const bin = path.join(ROOT, 'build', 'akvd');
  if (!fs.existsSync(bin)) {
    t.skip('build/akvd is not built (make check builds it)');
    return;
  }
  const ldd = spawnSync('ldd', [bin], { encoding: 'utf8' });
  assert.equal(ldd.status, 0, ldd.stderr);
  const libs = [...ldd.stdout.matchAll(/=>\s+(\/\S+)/g)].map((m) => m[1]);
  assert.ok(libs.length >= 5, ldd.stdout);
  const needed = new Set(libs.map(owner));
  for (const p of ['libcurl4', 'libev4', 'libcjson1', 'libssl3', 'libc6']) assert.ok(needed.has(p), p);

  const runtime = stages().find((s) => s.name === 'runtime');
  assert.ok(runtime, 'a stage named runtime');
  const installed = aptInstalls(runtime);
  assert.deepEqual(installed.filter((p) => !NOT_LIBS.has(p)).sort(), [...needed].sort(),
    'Dockerfile runtime stage vs the packages of `ldd build/akvd`');
});

test('build on Debian 12, run as non-root from a slim base, ENTRYPOINT takes the config path', () => {
  const all = stages();
  const build = all.find((s) => s.name === 'build');
  assert.match(build.from, /^debian:(12|bookworm)$/);
  for (const p of ['libcurl4-openssl-dev', 'libev-dev', 'libcjson-dev', 'libssl-dev']) {
    assert.ok(aptInstalls(build).includes(p), p);
  }
  const runtime = all.find((s) => s.name === 'runtime');
  assert.match(runtime.from, /^debian:(12|bookworm)-slim$/);
  const user = runtime.lines.filter((l) => l.startsWith('USER ')).pop();
  assert.match(user, /^USER [1-9]\d*(:[1-9]\d*)?$/, 'a numeric non-root user (runAsNonRoot can check it)');
  const ep = JSON.parse(runtime.lines.find((l) => l.startsWith('ENTRYPOINT ')).slice(11));
  assert.equal(ep[0], '/usr/bin/akvd');
  assert.ok(['--config', '-c'].includes(ep[ep.length - 1]), 'the next argument is the config path');
  assert.ok(runtime.lines.some((l) => /^COPY --from=build \S*build\/akvd \/usr\/bin\/akvd$/.test(l)));
  // No shell form anywhere at run time: exec form only.
  assert.ok(runtime.lines.filter((l) => /^(ENTRYPOINT|CMD) /.test(l)).every((l) => /^\w+ \[/.test(l)));
  // The default target (the last stage) is the runtime image.
  assert.equal(all[all.length - 1].from, 'runtime');
  // The image the postgres overlay uses exists.
  assert.ok(all.some((s) => s.name === 'postgres' && s.from === 'runtime'));
});
