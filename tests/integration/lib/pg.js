'use strict';
// A throw-away PostgreSQL server for the integration tests (the same as
// postgres.test.js starts): pgBin() finds the binaries, startServer(t, bin)
// runs one on 127.0.0.1 and a socket, stopped after the test.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { tmpdir } = require('./akvd');

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

module.exports = { pgBin, startServer };
