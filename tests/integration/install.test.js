'use strict';
// make install honours PREFIX and DESTDIR and installs a working binary,
// the systemd unit pointing at it, the man pages, and an example config
// that validates; systemd-analyze accepts the unit and rates its sandbox.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { ROOT, tmpdir, runAkvd } = require('./lib/akvd');

function install(t, prefix) {
  const dest = tmpdir('akvd-install-');
  t.after(() => fs.rmSync(dest, { recursive: true, force: true }));
  execFileSync('make', ['-s', 'install', `DESTDIR=${dest}`, `PREFIX=${prefix}`], { cwd: ROOT, stdio: 'pipe' });
  return dest;
}

function mode(p) {
  return fs.statSync(p).mode & 0o777;
}

test('make install DESTDIR=... PREFIX=/usr', async (t) => {
  const dest = install(t, '/usr');
  assert.equal(mode(path.join(dest, 'usr/bin/akvd')), 0o755);
  // No secret in the configuration (credentials are files of their own),
  // and the service's dynamic user must be able to read it.
  assert.equal(mode(path.join(dest, 'etc/akvd/akvd.json')), 0o644);
  const unitPath = path.join(dest, 'usr/lib/systemd/system/akvd.service');
  assert.equal(mode(unitPath), 0o644);
  const unit = fs.readFileSync(unitPath, 'utf8');
  assert.match(unit, /^ExecStart=\/usr\/bin\/akvd --config \/etc\/akvd\/akvd.json$/m);
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(unit, /^Documentation=file:\/\/\/usr\/share\/doc\/akvd\/README.md$/m);
  for (const f of ['usr/share/doc/akvd/README.md', 'usr/share/doc/akvd/schema.json',
    'usr/share/doc/akvd/examples/akvd.json', 'usr/share/doc/akvd/examples/sidecar.json']) {
    assert.ok(fs.existsSync(path.join(dest, f)), f);
  }
  for (const [f, src] of [['usr/share/man/man8/akvd.8', 'akvd.8'], ['usr/share/man/man5/akvd.json.5', 'akvd.json.5']]) {
    const p = path.join(dest, f);
    assert.equal(mode(p), 0o644, f);
    const text = fs.readFileSync(p, 'utf8');
    assert.equal(text.replaceAll('/usr/share/', '/usr/local/share/'),
      fs.readFileSync(path.join(ROOT, 'man', src), 'utf8'), `${f} is the page, with PREFIX substituted`);
  }
  const r = await runAkvd(['--check', '-c', path.join(dest, 'etc/akvd/akvd.json')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).output_dir, '/run/akvd');
});

test('make install PREFIX=/opt/akvd keeps an existing /etc/akvd/akvd.json', async (t) => {
  const dest = tmpdir('akvd-install-');
  t.after(() => fs.rmSync(dest, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dest, 'etc/akvd'), { recursive: true });
  fs.writeFileSync(path.join(dest, 'etc/akvd/akvd.json'), '{"mine": true}\n');
  execFileSync('make', ['-s', 'install', `DESTDIR=${dest}`, 'PREFIX=/opt/akvd'], { cwd: ROOT, stdio: 'pipe' });
  assert.equal(fs.readFileSync(path.join(dest, 'etc/akvd/akvd.json'), 'utf8'), '{"mine": true}\n');
  assert.ok(fs.existsSync(path.join(dest, 'opt/akvd/bin/akvd')));
  assert.ok(fs.existsSync(path.join(dest, 'opt/akvd/share/man/man8/akvd.8')));
  assert.match(fs.readFileSync(path.join(dest, 'opt/akvd/lib/systemd/system/akvd.service'), 'utf8'),
    /^ExecStart=\/opt\/akvd\/bin\/akvd --config/m);
});

// The unit systemd would load: the sandbox the issue asks for.
test('the unit is Type=notify, watched, rate-limited and sandboxed', () => {
  const unit = fs.readFileSync(path.join(ROOT, 'systemd/akvd.service'), 'utf8');
  const has = (line) => assert.match(unit, new RegExp(`^${line.replace(/[$()]/g, '\\$&')}$`, 'm'), line);
  for (const l of ['Type=notify', 'WatchdogSec=60s', 'Restart=on-failure', 'StartLimitBurst=5',
    'StartLimitIntervalSec=300', 'RuntimeDirectory=akvd', 'DynamicUser=yes', 'NoNewPrivileges=yes',
    'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'PrivateDevices=yes',
    'ProtectKernelTunables=yes', 'ProtectKernelModules=yes', 'ProtectKernelLogs=yes',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK', 'SystemCallFilter=@system-service',
    'CapabilityBoundingSet=', 'MemoryDenyWriteExecute=yes', 'LockPersonality=yes', 'UMask=0077']) {
    has(l);
  }
});

function haveAnalyze() {
  return !spawnSync('systemd-analyze', ['--version']).error;
}

test('systemd-analyze verify accepts the installed unit', (t) => {
  if (!haveAnalyze()) {
    t.skip('systemd-analyze is not installed (scripts/install-deps.sh installs systemd)');
    return;
  }
  const dest = install(t, '/usr');
  // verify checks that ExecStart= exists: point it at the DESTDIR copy.
  // It also looks the Documentation= man pages up: in the DESTDIR's.
  const dir = path.join(dest, 'verify');
  fs.mkdirSync(dir);
  const unit = fs.readFileSync(path.join(dest, 'usr/lib/systemd/system/akvd.service'), 'utf8')
    .replace(/^ExecStart=\/usr\/bin\/akvd /m, `ExecStart=${dest}/usr/bin/akvd `);
  fs.writeFileSync(path.join(dir, 'akvd.service'), unit);
  // Without man(1) (a minimal machine), verify cannot look them up.
  const man = spawnSync('man', ['--version']).error ? ['--man=no'] : [];
  const r = spawnSync('systemd-analyze', ['verify', ...man, path.join(dir, 'akvd.service')], {
    encoding: 'utf8', env: { ...process.env, MANPATH: path.join(dest, 'usr/share/man'), SYSTEMD_LOG_LEVEL: 'notice' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', 'no warning');
});

test('systemd-analyze security rates the unit at most 2.0 (OK)', (t) => {
  if (!haveAnalyze()) {
    t.skip('systemd-analyze is not installed (scripts/install-deps.sh installs systemd)');
    return;
  }
  const dest = install(t, '/usr');
  const r = spawnSync('systemd-analyze', ['security', '--offline=true', `--root=${dest}`,
    '--threshold=20', '--no-pager', 'akvd.service'], { encoding: 'utf8' });
  const m = /Overall exposure level for akvd\.service: (\d+\.\d) (\w+)/.exec(r.stdout);
  assert.ok(m, r.stdout + r.stderr);
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]} ${m[2]}\n${r.stdout}`);
  assert.equal(m[2], 'OK');
  assert.equal(r.status, 0, r.stderr);
});
