'use strict';
// Minimal RS256 JWTs with node:crypto: sign, verify against a JWKS, decode.

const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');

const b64u = (b) => Buffer.from(b).toString('base64url');

// A new private key from the openssl CLI, as a KeyObject.  Not
// crypto.generateKeyPairSync: Node 20 can deadlock exporting (as a JWK) a
// key whose generation job the garbage collector finalizes at that moment
// (KeyGenJob's destructor takes the mutex the export holds), which hung a
// test file for good; a key imported from PEM has no such job.
function generateKey(type = 'rsa', curve = 'P-256') {
  const args = type === 'rsa'
    ? ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
    : ['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`];
  const pem = execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return crypto.createPrivateKey(pem);
}

function keyPair() {
  const privateKey = generateKey('rsa');
  const publicKey = crypto.createPublicKey(privateKey);
  const jwk = publicKey.export({ format: 'jwk' });
  const kid = crypto.createHash('sha256').update(jwk.n).digest('base64url').slice(0, 27);
  return { privateKey, publicKey, kid, jwk: { kty: 'RSA', use: 'sig', alg: 'RS256', kid, n: jwk.n, e: jwk.e } };
}

function sign(claims, kp, extraHeader = {}) {
  const header = { alg: 'RS256', typ: 'JWT', kid: kp.kid, ...extraHeader };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  const sig = crypto.sign('sha256', Buffer.from(input), kp.privateKey);
  return `${input}.${b64u(sig)}`;
}

// Decode without verifying: { header, claims } or null.
function decode(token) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0], 'base64url')),
      claims: JSON.parse(Buffer.from(parts[1], 'base64url')),
    };
  } catch (e) {
    return null;
  }
}

// Verify the RS256 signature with the key of the JWKS named by kid.
// Returns { header, claims } or throws Error with .reason.
function verify(token, jwks) {
  const d = decode(token);
  if (!d) throw Object.assign(new Error('malformed JWT'), { reason: 'malformed' });
  if (d.header.alg !== 'RS256') throw Object.assign(new Error('alg'), { reason: 'alg' });
  const jwk = jwks.keys.find((k) => k.kid === d.header.kid);
  if (!jwk) throw Object.assign(new Error('unknown kid'), { reason: 'kid' });
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const [h, p, s] = token.split('.');
  if (!crypto.verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) {
    throw Object.assign(new Error('bad signature'), { reason: 'signature' });
  }
  return d;
}

module.exports = { generateKey, keyPair, sign, decode, verify };
