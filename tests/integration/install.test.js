'use strict';
// make install honours PREFIX and DESTDIR and installs a working binary,
// the systemd unit pointing at it, and an example config that validates.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { ROOT, tmpdir, runAkvd } = require('./lib/akvd');

test('make install DESTDIR=... PREFIX=/usr', async () => {
  const dest = tmpdir('akvd-install-');
  execFileSync('make', ['-s', 'install', `DESTDIR=${dest}`, 'PREFIX=/usr'], { cwd: ROOT, stdio: 'pipe' });
  const bin = path.join(dest, 'usr/bin/akvd');
  assert.equal(fs.statSync(bin).mode & 0o777, 0o755);
  assert.equal(fs.statSync(path.join(dest, 'etc/akvd/akvd.json')).mode & 0o777, 0o640);
  const unit = fs.readFileSync(path.join(dest, 'usr/lib/systemd/system/akvd.service'), 'utf8');
  assert.match(unit, /^ExecStart=\/usr\/bin\/akvd --config \/etc\/akvd\/akvd.json$/m);
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.ok(fs.existsSync(path.join(dest, 'usr/share/doc/akvd/README.md')));
  const r = await runAkvd(['--check', '-c', path.join(dest, 'etc/akvd/akvd.json')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).output_dir, '/run/akvd');
  fs.rmSync(dest, { recursive: true, force: true });
});
