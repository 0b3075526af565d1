'use strict';
// The cluster side of workload identity: an OIDC issuer that signs
// service-account tokens, and a projected token volume written exactly like
// the kubelet's AtomicWriter (see ../../shared/PROTOCOLS.md section 1):
//
//   DIR/..2026_06_11_10_00_00.123456789/azure-identity-token
//   DIR/..data -> ..2026_06_11_10_00_00.123456789
//   DIR/azure-identity-token -> ..data/azure-identity-token

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const jwt = require('./jwt');

const FILE = 'azure-identity-token';

class ClusterIssuer {
  constructor({ issuer = 'https://oidc.akvd.test/11111111-2222-3333-4444-555555555555/' } = {}) {
    this.issuer = issuer;
    this.kp = jwt.keyPair();
  }

  jwks() {
    return { keys: [this.kp.jwk] };
  }

  mint({ namespace = 'default', serviceAccount = 'app', audience = 'api://AzureADTokenExchange',
    lifetime = 3600, now = Math.floor(Date.now() / 1000) } = {}) {
    return jwt.sign({
      aud: [audience],
      exp: now + lifetime,
      iat: now,
      iss: this.issuer,
      nbf: now,
      sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
      'kubernetes.io': {
        namespace,
        pod: { name: 'app-7d4b9c-x2x9z', uid: crypto.randomUUID() },
        serviceaccount: { name: serviceAccount, uid: crypto.randomUUID() },
      },
    }, this.kp);
  }
}

function stamp(d = new Date()) {
  const p = (n, w = 2) => String(n).padStart(w, '0');
  const ns = p(d.getUTCMilliseconds(), 3) + p(crypto.randomInt(0, 1e6), 6);
  return `..${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_` +
    `${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}.${ns}`;
}

class TokenVolume {
  constructor(dir, issuer, opts = {}) {
    this.dir = dir;
    this.issuer = issuer;
    this.opts = opts;
    this.file = path.join(dir, FILE);
    this.token = null;
    fs.mkdirSync(dir, { recursive: true });
  }

  current() {
    return this.token;
  }

  // Write a fresh token the way the kubelet does, and return it.
  rotate(o = {}) {
    const token = this.issuer.mint({ ...this.opts, ...o });
    const d = this.dir;
    let old = null;
    try { old = fs.readlinkSync(path.join(d, '..data')); } catch (e) { /* first */ }
    const ts = stamp();
    fs.mkdirSync(path.join(d, ts));
    fs.writeFileSync(path.join(d, ts, FILE), token, { mode: 0o644 });
    fs.rmSync(path.join(d, '..data_tmp'), { force: true });
    fs.symlinkSync(ts, path.join(d, '..data_tmp'));
    fs.renameSync(path.join(d, '..data_tmp'), path.join(d, '..data'));
    try { fs.lstatSync(this.file); } catch (e) { fs.symlinkSync(`..data/${FILE}`, this.file); }
    if (old) fs.rmSync(path.join(d, old), { recursive: true, force: true });
    this.token = token;
    return token;
  }
}

module.exports = { ClusterIssuer, TokenVolume, FILE };
