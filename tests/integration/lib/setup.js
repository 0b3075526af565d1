'use strict';
// Per-test fixture: a run directory, the local doubles, and an output dir.
// Everything is torn down (akvd stopped, doubles closed, files removed)
// when the test ends.

const fs = require('node:fs');
const path = require('node:path');
const { startDoubles } = require('../../fakes');
const { tmpdir, Akvd, baseConfig, writeConfig } = require('./akvd');

const JWT = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/;

async function setup(t, opts = {}) {
  const dir = tmpdir();
  const d = await startDoubles({ dir: path.join(dir, 'doubles'), ...opts });
  const out = path.join(dir, 'out');
  const procs = [];
  const secrets = new Set();
  const fx = {
    dir, d, out, procs, secrets,
    // Set a secret in the Key Vault double, remembering the value so the
    // log check below can prove it never reached the log.
    set(name, value, o) {
      secrets.add(value);
      return d.kv.setSecret(name, value, o);
    },
    config(objects, extra) {
      return baseConfig(d, out, objects, extra);
    },
    write(cfg, name) {
      return writeConfig(dir, cfg, name);
    },
    start(cfgPath, args = [], opts = {}) {
      const a = new Akvd(['--config', cfgPath, '--log-level', 'debug', ...args], opts);
      procs.push(a);
      return a;
    },
    // No secret value, access token, assertion or client secret in the log.
    assertNoSecretsLogged(a) {
      const log = a.log();
      for (const v of secrets) {
        if (v.length >= 6 && log.includes(v)) {
          throw new Error(`secret value ${JSON.stringify(v)} appears in the log`);
        }
      }
      if (JWT.test(log)) throw new Error(`a JWT appears in the log:\n${log}`);
    },
  };
  t.after(async () => {
    for (const a of procs) {
      if (a.code === undefined && a.signal === undefined) {
        a.kill('SIGKILL');
        await a.exited;
      }
    }
    await d.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return fx;
}

module.exports = { setup, JWT };
