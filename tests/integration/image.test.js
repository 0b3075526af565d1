'use strict';
// The Dockerfile, read without a container engine (make image-check runs
// the images): the default image is FROM scratch with the static akvd, the
// trust anchors (the bundle and its certificates by subject hash) and
// passwd/group only; akvd is the entrypoint and the
// default config is the command; the postgres variant builds on a Debian
// base with apt's cleanup and sets PGUSER.  And the static build, when
// built: no shared library.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { ROOT } = require('./lib/akvd');

// The stages: { name, from, lines } with continuation lines joined.
function stages() {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const out = [];
  for (const l of text.split('\n')) {
    const s = l.trim();
    if (s === '' || s.startsWith('#')) continue;
    const m = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(s);
    if (m) out.push({ from: m[1], name: m[2] || null, lines: [] });
    else if (out.length > 0) out[out.length - 1].lines.push(s);  // ARG before FROM
  }
  return out;
}

function instr(stage, word) {
  return stage.lines.filter((l) => l.startsWith(`${word} `));
}

function execForm(line) {
  return JSON.parse(line.slice(line.indexOf(' ') + 1));
}

test('the default image: FROM scratch, the static akvd, CA certificates, passwd/group, as uid 65532', () => {
  const all = stages();
  const runtime = all.find((s) => s.name === 'runtime');
  assert.ok(runtime, 'a stage named runtime');
  assert.equal(runtime.from, 'scratch');
  const copies = instr(runtime, 'COPY').map((l) => l.split(/\s+/).slice(1));
  assert.deepEqual(copies.map((c) => c[c.length - 1]).sort(),
    ['/', '/etc/ssl/certs/', '/etc/ssl/certs/ca-certificates.crt', '/usr/bin/akvd'].sort());
  assert.ok(copies.some((c) => c[0] === 'build/static/akvd'), 'the static build (make static)');
  // The bundle, and its certificates under their subject-hash names (made
  // by make image), so akvd looks an issuer up instead of decoding them all.
  assert.ok(copies.some((c) => c[0] === 'build/image/certs/' && c[1] === '/etc/ssl/certs/'),
    'the hashed anchors into /etc/ssl/certs');
  // image/rootfs holds passwd and group with uid/gid 65532, nothing else.
  const rootfs = path.join(ROOT, 'image', 'rootfs');
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p); else files.push(path.relative(rootfs, p));
    }
  };
  walk(rootfs);
  assert.deepEqual(files.sort(), ['etc/group', 'etc/passwd']);
  assert.match(fs.readFileSync(path.join(rootfs, 'etc/passwd'), 'utf8'), /^nonroot:x:65532:65532:/m);
  assert.match(fs.readFileSync(path.join(rootfs, 'etc/group'), 'utf8'), /^nonroot:x:65532:/m);
  assert.deepEqual(instr(runtime, 'USER'), ['USER 65532:65532'], 'numeric, so runAsNonRoot can check it');
  assert.deepEqual(instr(runtime, 'EXPOSE'), ['EXPOSE 9090']);
  assert.ok(runtime.lines.some((l) => /^LABEL .*org\.opencontainers\.image\.version=/.test(l)));
});

test('akvd is the entrypoint; the default config is the command (exec form)', () => {
  const all = stages();
  for (const name of ['runtime', 'postgres']) {
    const s = all.find((x) => x.name === name);
    const [ep] = instr(s, 'ENTRYPOINT');
    const [cmd] = instr(s, 'CMD');
    assert.deepEqual(execForm(ep), ['/usr/bin/akvd'], `${name}: arguments are akvd's own`);
    assert.deepEqual(execForm(cmd), ['--config', '/etc/akvd/akvd.json'], name);
  }
  // The default target (the last stage) is the small image.
  assert.equal(all[all.length - 1].from, 'runtime');
});

test('the postgres variant: Debian 12 base, psql, apt cleanup, PGUSER, build-time DEBIAN_FRONTEND', () => {
  const pg = stages().find((s) => s.name === 'postgres');
  assert.ok(pg, 'a stage named postgres (k8s/overlays/postgres)');
  assert.match(pg.from, /^debian:(12|bookworm)(-slim)?$/);
  const run = instr(pg, 'RUN').join(' ');
  assert.match(run, /apt-get install -y --no-install-recommends .*postgresql-client-15/);
  assert.match(run, /apt-get clean/);
  assert.match(run, /rm -rf \/var\/lib\/apt\/lists\/\*/);
  assert.deepEqual(instr(pg, 'ARG').filter((l) => /DEBIAN_FRONTEND/.test(l)), ['ARG DEBIAN_FRONTEND=noninteractive'],
    'noninteractive at build time only (ARG, not ENV)');
  assert.ok(instr(pg, 'ENV').some((l) => /\bPGUSER=postgres\b/.test(l)));
  assert.deepEqual(instr(pg, 'USER'), ['USER 999:999']);
  assert.ok(instr(pg, 'COPY').some((l) => /^COPY build\/static\/akvd \/usr\/bin\/akvd$/.test(l)));
});

test('.dockerignore lets in only what the images copy (and the unit, for make systemd-check)', () => {
  const lines = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n')
    .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  assert.equal(lines[0], '*');
  assert.deepEqual(lines.slice(1).sort(),
    ['!build/image/ca-certificates.crt', '!build/image/certs', '!build/static/akvd', '!image/rootfs',
      '!systemd/akvd.service'].sort());
});

test('make static: one executable with no shared library', (t) => {
  const bin = path.join(ROOT, 'build', 'static', 'akvd');
  if (!fs.existsSync(bin)) {
    t.skip('build/static/akvd is not built (make static builds it)');
    return;
  }
  const r = spawnSync('readelf', ['-d', '-l', bin], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /\(NEEDED\)/, 'no shared library needed');
  assert.doesNotMatch(r.stdout, /INTERP/, 'no dynamic loader');
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  assert.equal(v.status, 0);
  assert.equal(v.stdout.trim(), `akvd ${fs.readFileSync(path.join(ROOT, 'VERSION'), 'utf8').trim()}`);
});
