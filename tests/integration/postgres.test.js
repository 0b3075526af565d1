'use strict';
// The PostgreSQL rotation story of k8s/overlays/postgres, against a real
// server on loopback: a new password in Key Vault reaches akvd's file, the
// notify exec hook (the overlay's rotate-password.sh, unchanged) applies it
// through the local socket, and clients must use the new password, with no
// restart of the server.  Skipped when PostgreSQL is not installed
// (scripts/install-deps.sh installs it).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { setup } = require('./lib/setup');
const { ROOT, Akvd, until, tmpdir } = require('./lib/akvd');

const HOOK = path.join(ROOT, 'k8s', 'overlays', 'postgres', 'rotate-password.sh');

function pgBin() {
  const base = '/usr/lib/postgresql';
  let versions = [];
  try {
    versions = fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb')));
  } catch (e) {
    return null;
  }
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(base, versions[0], 'bin') : null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// A throw-away cluster: data, socket and log in a temporary directory,
// TCP on 127.0.0.1 only.  PostgreSQL refuses to run as root: as root, the
// server runs as the "postgres" user.
async function startServer(t, bin) {
  const root = process.getuid() === 0;
  const dir = tmpdir('akvd-pg-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  let uid = process.getuid();
  if (root) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    assert.equal(id.status, 0, 'no "postgres" user: is the postgresql package installed?');
    uid = Number(id.stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    fs.chownSync(dir, uid, gid);
  }
  const asServer = (cmd, args) => {
    const argv = root ? ['runuser', '-u', 'postgres', '--', path.join(bin, cmd), ...args] : [path.join(bin, cmd), ...args];
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', cwd: dir });
    assert.equal(r.status, 0, `${cmd}: ${r.stdout}${r.stderr}`);
    return r;
  };
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'sock');
  const log = path.join(dir, 'server.log');
  asServer('initdb', ['-D', data, '-U', 'postgres', '-N', '--auth-local=peer', '--auth-host=scram-sha-256']);
  const me = os.userInfo().username;
  // The hook connects as "postgres" through the socket, authenticated by
  // its Unix user (here the test's; in the pod, uid 999); everyone else,
  // on the socket or TCP, needs a password.
  fs.writeFileSync(path.join(data, 'pg_hba.conf'), [
    'local all postgres peer map=hook',
    'local all all scram-sha-256',
    'host all all 127.0.0.1/32 scram-sha-256',
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(data, 'pg_ident.conf'), `hook ${me} postgres\nhook postgres postgres\n`);
  if (root) {
    fs.mkdirSync(sock, { mode: 0o755 });
    fs.chownSync(sock, uid, -1);
  } else {
    fs.mkdirSync(sock);
  }
  const port = await freePort();
  asServer('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o',
    `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${sock} -c fsync=off`, 'start']);
  t.after(() => {
    spawnSync(root ? 'runuser' : path.join(bin, 'pg_ctl'), root
      ? ['-u', 'postgres', '--', path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop']
      : ['-D', data, '-m', 'immediate', 'stop'], { stdio: 'ignore' });
  });
  const pid = () => fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0];
  // What the hook needs: where the socket is, who to be.
  const env = { PATH: `${bin}:${process.env.PATH}`, PGHOST: sock, PGPORT: String(port), PGUSER: 'postgres', PGDATABASE: 'postgres' };
  return { port, sock, log, env, pid };
}

// A client of the application's: TCP, role "app", this password.
function connect(srv, password) {
  return spawnSync('psql', ['-X', '-w', '-h', '127.0.0.1', '-p', String(srv.port), '-U', 'app',
    '-d', 'postgres', '-tAc', 'SELECT current_user'], {
    encoding: 'utf8', env: { PATH: srv.env.PATH, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
  });
}

test('a rotated PostgreSQL password is applied by the notify exec hook, without a restart', async (t) => {
  const bin = pgBin();
  if (!bin) {
    t.skip('PostgreSQL is not installed (scripts/install-deps.sh installs it)');
    return;
  }
  const srv = await startServer(t, bin);
  const fx = await setup(t);
  const v1 = 'first-Pa55word';
  // Everything a careless hook would get wrong: quotes, backslash,
  // semicolon, shell and psql syntax.
  const v2 = `s3c'ond "pa\\ss";word $(id) \`x\` :'role' -- end`;
  fx.set('pg-app-password', v1);
  const file = path.join(fx.out, 'app-password');
  const cfg = fx.config([{ name: 'pg-app-password', alias: 'app-password', mode: '0400' }], {
    interval: '1s',
    debounce: '200ms',
    notify: [{ exec: [HOOK, 'app', file], timeout: '30s' }],
  });
  const a = new Akvd(['--config', fx.write(cfg), '--log-level', 'debug'], { env: srv.env });
  fx.procs.push(a);
  await a.waitLog(/snapshot written/);
  assert.equal(fs.readFileSync(file, 'utf8'), v1);

  // At the database's start (postStart in the overlay): the role is
  // created with the current password.
  const start = spawnSync(HOOK, ['app', file, '10'], { encoding: 'utf8', env: srv.env });
  assert.equal(start.status, 0, start.stdout + start.stderr);
  assert.match(start.stdout, /role app: password set/);
  let r = connect(srv, v1);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'app');
  const serverPid = srv.pid();

  // Rotation in Key Vault: within an interval, the file, then the role.
  fx.set('pg-app-password', v2);
  await until(() => fs.readFileSync(file, 'utf8') === v2, { timeout: 30000, what: 'the new password file' });
  await a.waitLog(/role app: password set from/, { timeout: 30000 });
  r = await until(() => {
    const c = connect(srv, fs.readFileSync(file, 'utf8'));
    return c.status === 0 ? c : null;
  }, { timeout: 30000, what: 'a connection with the new password' });
  assert.equal(r.stdout.trim(), 'app');
  r = connect(srv, v1);
  assert.notEqual(r.status, 0, 'the old password still works');
  assert.match(r.stderr, /password authentication failed for user "app"/);
  assert.equal(srv.pid(), serverPid, 'the server was not restarted');

  assert.doesNotMatch(a.log(), /notification failed/);
  fx.assertNoSecretsLogged(a);
  const serverLog = fs.readFileSync(srv.log, 'utf8');
  for (const v of [v1, v2]) assert.ok(!serverLog.includes(v), 'a password appears in the server log');
  await a.stop();
});

test('the hook fails cleanly, and says why, when the server is down', (t) => {
  const dir = tmpdir('akvd-pg-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'pw');
  fs.writeFileSync(file, 'never-shown-42', { mode: 0o400 });
  const r = spawnSync(HOOK, ['app', file], {
    encoding: 'utf8', env: { PATH: process.env.PATH, PGHOST: path.join(dir, 'nosock'), PGUSER: 'postgres' },
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /the server does not answer/);
  assert.ok(!(r.stdout + r.stderr).includes('never-shown-42'));
  const u = spawnSync(HOOK, ['app'], { encoding: 'utf8' });
  assert.equal(u.status, 2);
  assert.match(u.stderr, /usage/);
});
