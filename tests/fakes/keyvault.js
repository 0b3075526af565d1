'use strict';
// A double of the Azure Key Vault data plane: SecretBundle and SecretItem
// JSON, CertificateBundle (with its managed, certificate-backed secret and
// key, as Key Vault creates them), KeyBundle (JWK), versions lists and
// object lists with maxresults and nextLink, the real error shapes, Bearer
// validation and the 401 challenge (see ../../shared/PROTOCOLS.md section
// 4), plus fault injection and a request log for tests.

const crypto = require('node:crypto');
const jwt = require('./jwt');
const { send } = require('./entra');

const RESOURCE = 'https://vault.azure.net';
const PAGE = 25;

class KeyVault {
  constructor({ tenantId, entra }) {
    this.tenantId = tenantId;
    this.entra = entra;             // whose signing key issues our tokens
    this.secrets = new Map();       // name -> { versions: [{version, value, ...}] }  newest last
    this.certificates = new Map();  // name -> { versions: [{version, cer, ...}] }
    this.keys = new Map();          // name -> { versions: [{version, jwk, ...}] }
    this.denied = new Set();
    this.listDenied = new Set();    // kinds whose list answers 403
    this.faults = [];
    this.log = [];
    this.connections = 0;
    this.url = null;                // set once listening
    this.challengeResource = RESOURCE;  // what the 401 challenge names
    this.throttle = null;           // { budget, windowMs, admitted: [times] }
  }

  // --- control API -------------------------------------------------------

  // Add a version to ${map}; timestamps are whole seconds as in Key Vault,
  // made strictly increasing per object so "newest" is well defined.
  addVersion(map, name, fields, version = crypto.randomBytes(16).toString('hex')) {
    if (!/^[0-9a-zA-Z-]{1,127}$/.test(name)) throw new Error(`invalid name ${name}`);
    let s = map.get(name);
    if (!s) {
      s = { versions: [] };
      map.set(name, s);
    }
    let now = Math.floor(Date.now() / 1000);
    const last = s.versions[s.versions.length - 1];
    if (last && last.created >= now) now = last.created + 1;
    s.versions.push({ version, enabled: true, ...fields, created: now, updated: now });
    return version;
  }

  setSecret(name, value, { contentType, tags, enabled = true } = {}) {
    return this.addVersion(this.secrets, name, { value: String(value), contentType, tags, enabled });
  }

  // A certificate as Key Vault stores it: the CertificateBundle ("cer" =
  // DER of ${leafPem}) plus the managed secret of the same name and
  // version holding the key and chain: base64 PFX (${pfx}, a Buffer,
  // application/x-pkcs12) or PEM (${pem}, application/x-pem-file).
  setCertificate(name, { leafPem, pfx, pem, tags, enabled = true }) {
    const raw = new crypto.X509Certificate(leafPem).raw;
    const version = this.addVersion(this.certificates, name, {
      cer: raw.toString('base64'),
      x5t: crypto.createHash('sha1').update(raw).digest('base64url'),
      tags, enabled,
    });
    const contentType = pfx ? 'application/x-pkcs12' : 'application/x-pem-file';
    this.addVersion(this.secrets, name, {
      value: pfx ? pfx.toString('base64') : pem, contentType, tags, enabled, managed: true,
    }, version);
    this.addVersion(this.keys, name, { jwk: this.jwkOf(leafPem), tags, enabled, managed: true }, version);
    return version;
  }

  // The public JWK of a certificate's key, as Key Vault returns it.
  jwkOf(pem) {
    const k = new crypto.X509Certificate(pem).publicKey.export({ format: 'jwk' });
    return k.kty === 'RSA' ? { kty: 'RSA', n: k.n, e: k.e } : { kty: 'EC', crv: k.crv, x: k.x, y: k.y };
  }

  // A key from a JWK (public members only are ever returned).
  setKey(name, jwk, { tags, enabled = true } = {}) {
    return this.addVersion(this.keys, name, { jwk, tags, enabled });
  }

  disableVersion(name, version) {
    const v = this.secrets.get(name)?.versions.find((x) => x.version === version);
    if (!v) throw new Error(`no version ${version} of ${name}`);
    v.enabled = false;
    v.updated = Math.floor(Date.now() / 1000);
  }

  deleteSecret(name) { this.secrets.delete(name); }
  deleteCertificate(name) { this.certificates.delete(name); this.secrets.delete(name); this.keys.delete(name); }
  deny(name) { this.denied.add(name); }
  // An access policy without the "list" permission on ${kind}
  // ("secrets", "certificates", "keys"): listing answers 403, GETs work.
  denyList(kind = 'secrets') { this.listDenied.add(kind); }
  allowList(kind = 'secrets') { this.listDenied.delete(kind); }
  allow(name) { this.denied.delete(name); }
  fault(f) {
    const id = crypto.randomUUID();
    this.faults.push({ id, times: Infinity, ...f });
    return id;
  }
  clearFaults() { this.faults = []; }
  // Throttling as Key Vault does it (off by default): at most ${budget}
  // requests are served per sliding ${windowMs} (Key Vault's documented
  // GET limit is 4,000 per 10 s per vault); above it, 429 Throttled with
  // Retry-After (whole seconds until the window has room again).  Only
  // requests that would be served count; faults answer first.  null: off.
  setThrottle(t) {
    this.throttle = t ? { budget: t.budget, windowMs: t.windowMs || 10000, admitted: [], head: 0 } : null;
  }
  requests() { return this.log.slice(); }
  clearRequests() { this.log = []; }
  tlsConnections() { return this.connections; }

  // --- wire ----------------------------------------------------------------

  bundle(name, v) {
    const b = {
      value: v.value,
      id: `${this.url}/secrets/${name}/${v.version}`,
      attributes: { enabled: v.enabled, created: v.created, updated: v.updated,
        recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
      tags: v.tags || {},
    };
    if (v.contentType) b.contentType = v.contentType;
    if (v.managed) {
      b.kid = `${this.url}/keys/${name}/${v.version}`;
      b.managed = true;
    }
    return b;
  }

  certBundle(name, v) {
    return {
      id: `${this.url}/certificates/${name}/${v.version}`,
      kid: `${this.url}/keys/${name}/${v.version}`,
      sid: `${this.url}/secrets/${name}/${v.version}`,
      x5t: v.x5t,
      cer: v.cer,
      attributes: { enabled: v.enabled, created: v.created, updated: v.updated,
        recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
      tags: v.tags || {},
      policy: { id: `${this.url}/certificates/${name}/policy`,
        key_props: { exportable: true, kty: 'RSA', key_size: 2048, reuse_key: false },
        secret_props: { contentType: 'application/x-pkcs12' } },
    };
  }

  keyBundle(name, v) {
    const key = { kid: `${this.url}/keys/${name}/${v.version}`, ...v.jwk };
    key.key_ops = ['sign', 'verify', 'wrapKey', 'unwrapKey', 'encrypt', 'decrypt'];
    const b = { key, attributes: { enabled: v.enabled, created: v.created, updated: v.updated,
      recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 }, tags: v.tags || {} };
    if (v.managed) b.managed = true;
    return b;
  }

  item(name, v, withVersion, kind = 'secrets') {
    const it = {
      [kind === 'keys' ? 'kid' : 'id']: withVersion ? `${this.url}/${kind}/${name}/${v.version}`
        : `${this.url}/${kind}/${name}`,
      attributes: { enabled: v.enabled, created: v.created, updated: v.updated,
        recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
      tags: v.tags || {},
    };
    if (v.contentType) it.contentType = v.contentType;
    if (v.managed) it.managed = true;
    return it;
  }

  challenge() {
    return `Bearer authorization="https://login.windows.net/${this.tenantId}", resource="${this.challengeResource}"`;
  }

  unauthorized(res, message) {
    send(res, 401, { error: { code: 'Unauthorized', message } }, { 'WWW-Authenticate': this.challenge() });
    return 401;
  }

  // Validate the Bearer token: signature by Entra's key, audience, expiry.
  // Returns null when valid, else the KV error message.
  checkToken(req) {
    const h = req.headers.authorization;
    if (!h || !/^Bearer /i.test(h)) return 'AKV10000: Request is missing a Bearer or PoP token.';
    let d;
    try {
      d = jwt.verify(h.slice(7).trim(), this.entra.jwks());
    } catch (e) {
      return 'AKV10017: Invalid token signature.';
    }
    const c = d.claims;
    const aud = String(c.aud).replace(/\/$/, '');
    if (aud !== RESOURCE) return `AKV10022: Invalid audience. Expected ${RESOURCE}, found: ${c.aud}.`;
    if (c.iss !== `https://sts.windows.net/${this.tenantId}/`) {
      return `AKV10032: Invalid issuer. Expected one of https://sts.windows.net/${this.tenantId}/, found ${c.iss}.`;
    }
    const now = Math.floor(Date.now() / 1000);
    if (now >= c.exp) return '[TokenExpired] Error validating token: \'S2S12086\'.';
    if (now < c.nbf) return '[TokenNotYetValid] Error validating token: \'S2S12085\'.';
    return null;
  }

  notFound(res, name, kind = 'secrets') {
    const what = { secrets: 'Secret', certificates: 'Certificate', keys: 'Key' }[kind];
    send(res, 404, { error: { code: `${what}NotFound`, message: `A ${what.toLowerCase()} with (name/id) ${name} was not ` +
      'found in this key vault. If you recently deleted this secret you may be able to recover it using ' +
      'the correct recovery command. For help resolving this issue, please see ' +
      'https://go.microsoft.com/fwlink/?linkid=2125182' } });
    return 404;
  }

  forbiddenRbac(res, name, claims) {
    send(res, 403, { error: { code: 'Forbidden', message: 'Caller is not authorized to perform action on ' +
      'resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please ' +
      'observe propagation time.\r\n' +
      `Caller: appid=${claims.appid};oid=${claims.oid};iss=${claims.iss}\r\n` +
      "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n" +
      `Resource: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/providers/microsoft.keyvault/vaults/test/secrets/${name}'\r\n` +
      "Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: test;location=eastus\r\n",
    innererror: { code: 'ForbiddenByRbac' } } });
    return 403;
  }

  // What an access policy without the list permission answers.
  forbiddenList(res, kind, claims) {
    send(res, 403, { error: { code: 'Forbidden', message: `The user, group or application 'appid=${claims.appid};` +
      `oid=${claims.oid};iss=${claims.iss}' does not have ${kind} list permission on key vault ` +
      "'test;location=eastus'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
    innererror: { code: 'AccessDenied' } } });
    return 403;
  }

  // A page of a list.  Like Key Vault's, the continuation token names
  // where the next page starts (the first id not yet returned, in the
  // list's order: ids case-insensitively), not an offset: an object
  // created or deleted between two pages of one listing does not shift
  // the others out of it.
  page(res, items, url, maxresults) {
    const key = (it) => (it.id || it.kid).toLowerCase();
    const sorted = [...items].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
    const token = url.searchParams.get('$skiptoken');
    let start = 0;
    if (token) {
      const from = Buffer.from(token, 'base64url').toString('utf8');
      start = sorted.findIndex((it) => key(it) >= from);
      if (start < 0) start = sorted.length;
    }
    const slice = sorted.slice(start, start + maxresults);
    let nextLink = null;
    if (start + maxresults < sorted.length) {
      const n = new URL(url.pathname, this.url);
      n.searchParams.set('api-version', url.searchParams.get('api-version'));
      n.searchParams.set('$skiptoken', Buffer.from(key(sorted[start + maxresults])).toString('base64url'));
      n.searchParams.set('maxresults', String(maxresults));
      nextLink = n.toString();
    }
    send(res, 200, { value: slice, nextLink });
    return 200;
  }

  // Normal handling; returns the status sent.
  serve(req, res, url, entry) {
    if (!url.searchParams.get('api-version')) {
      send(res, 400, { error: { code: 'BadParameter', message: 'The request URI contains an invalid or missing api-version.' } });
      return 400;
    }
    const bad = this.checkToken(req);
    if (bad) return this.unauthorized(res, bad);
    entry.authorized = true;
    const claims = jwt.decode(req.headers.authorization.slice(7).trim()).claims;
    if (req.method !== 'GET') {
      send(res, 405, { error: { code: 'MethodNotAllowed', message: `The requested resource does not support http method '${req.method}'.` } });
      return 405;
    }
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const kind = parts[0];
    const map = { secrets: this.secrets, certificates: this.certificates, keys: this.keys }[kind];
    if (!map || parts.length > 3) {
      send(res, 404, { error: { code: 'NotFound', message: 'The requested resource was not found.' } });
      return 404;
    }
    const max = Math.min(Math.max(Number(url.searchParams.get('maxresults') || PAGE), 1), PAGE);
    if (parts.length === 1) {
      if (this.listDenied.has(kind)) return this.forbiddenList(res, kind, claims);
      // A list shows each object's current version's attributes and tags.
      const items = [...map.entries()]
        .map(([n, s]) => this.item(n, s.versions[s.versions.length - 1], false, kind));
      return this.page(res, items, url, max);
    }
    const name = parts[1];
    const s = map.get(name);
    if (this.denied.has(name)) return this.forbiddenRbac(res, name, claims);
    if (!s) return this.notFound(res, name, kind);
    if (parts.length === 3 && parts[2] === 'versions') {
      return this.page(res, s.versions.map((v) => this.item(name, v, true, kind)), url, max);
    }
    const v = parts.length === 3 ? s.versions.find((x) => x.version === parts[2])
      : s.versions[s.versions.length - 1];
    if (!v) return this.notFound(res, `${name}/${parts[2]}`, kind);
    if (!v.enabled) {
      const what = { secrets: 'Secret', certificates: 'Certificate', keys: 'Key' }[kind];
      send(res, 403, { error: { code: 'Forbidden', message: `Operation get is not allowed on a disabled ${what.toLowerCase()}.`,
        innererror: { code: `${what}Disabled` } } });
      return 403;
    }
    if (kind === 'certificates') send(res, 200, this.certBundle(name, v));
    else if (kind === 'keys') send(res, 200, this.keyBundle(name, v));
    else send(res, 200, this.bundle(name, v));
    return 200;
  }

  // The throttle's answer: true when it sent 429, else the request is
  // counted against the budget.
  throttled(res, entry) {
    const t = this.throttle;
    if (!t) return false;
    const now = Date.now();
    while (t.head < t.admitted.length && t.admitted[t.head] <= now - t.windowMs) t.head++;
    if (t.head > 4096) {
      t.admitted = t.admitted.slice(t.head);
      t.head = 0;
    }
    if (t.admitted.length - t.head < t.budget) {
      t.admitted.push(now);
      return false;
    }
    const wait = Math.max(1, Math.ceil((t.admitted[t.head] + t.windowMs - now) / 1000));
    entry.status = 429;
    entry.throttled = true;
    send(res, 429, { error: { code: 'Throttled', message: 'Request was not allowed because we ' +
      'throttled it. Reason: VaultRequestTypeLimitReached' } }, { 'Retry-After': String(wait) });
    return true;
  }

  handle(req, res) {
    const url = new URL(req.url, this.url);
    const entry = { time: Date.now(), method: req.method, path: url.pathname,
      query: Object.fromEntries(url.searchParams), authorized: false, status: 0 };
    this.log.push(entry);
    req.resume();
    const f = this.faults.find((x) => x.times > 0 &&
      (x.match instanceof RegExp ? x.match.test(url.pathname) : url.pathname.startsWith(x.match || '/')));
    if (!f) {
      if (this.throttled(res, entry)) return;
      entry.status = this.serve(req, res, url, entry);
      return;
    }
    f.times--;
    const act = () => {
      if (f.raw) {
        // A hostile server: the test writes the answer (or none) itself.
        entry.status = f.raw(req, res, entry) || 0;
        return;
      }
      if (f.reset) {
        entry.status = 0;
        req.socket.destroy();
        return;
      }
      if (f.malformed) {
        entry.status = 200;
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end('{"value":"trunc');
        return;
      }
      if (f.oversize) {
        entry.status = 200;
        const body = JSON.stringify({ value: 'x'.repeat(f.oversize), id: `${this.url}/secrets/big/0123`,
          attributes: { enabled: true } });
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      if (f.status) {
        const headers = { ...(f.headers || {}) };
        if (f.retryAfter !== undefined) headers['Retry-After'] = String(f.retryAfter);
        let body = f.body;
        if (body === undefined) {
          body = f.status === 429
            ? { error: { code: 'Throttled', message: 'Request was not allowed because we throttled it. ' +
                'Reason: VaultRequestTypeLimitReached' } }
            : { error: { code: 'ServiceUnavailable', message: 'The service is temporarily unavailable.' } };
        }
        entry.status = f.status;
        if (typeof body === 'string') {
          res.writeHead(f.status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
          res.end(body);
        } else {
          send(res, f.status, body, headers);
        }
        return;
      }
      entry.status = this.serve(req, res, url, entry);
    };
    if (f.delayMs) setTimeout(act, f.delayMs); else act();
  }
}

module.exports = { KeyVault, RESOURCE };
