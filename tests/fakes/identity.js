'use strict';
// Doubles of the platform identity endpoints (../../shared/PROTOCOLS.md
// section 3): the Azure Instance Metadata Service (IMDS) and the App
// Service / Container Apps / Functions identity endpoint.  Both hand out
// access tokens signed by the Entra double, so the Key Vault double
// accepts them.  Plain HTTP on 127.0.0.1, as the real ones are on
// link-local or loopback addresses.

const http = require('node:http');
const crypto = require('node:crypto');
const jwt = require('./jwt');
const { overrideFields } = require('./entra');

function send(res, status, body, headers = {}) {
  const b = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': b.length, ...headers });
  res.end(b);
}

class IdentityEndpoint {
  // kind: 'imds' or 'appservice'.  identities: [{ clientId, objectId,
  // resourceId }]; the first is the system-assigned one unless
  // systemAssigned is false.
  constructor({ kind, entra, identities, systemAssigned = true, header, lifetime = 3600 }) {
    this.kind = kind;
    this.entra = entra;
    this.identities = identities;
    this.systemAssigned = systemAssigned;
    this.header = header;           // App Service: the IDENTITY_HEADER value
    this.lifetime = lifetime;
    this.faults = [];               // [{ status, body, headers, times }]
    this.tokenFields = null;
    this.log = [];
    this.tokens = [];
    this.url = null;
  }

  fault(f) { this.faults.push({ times: 1, ...f }); }
  clearFaults() { this.faults = []; }
  requests() { return this.log.slice(); }
  issued() { return this.tokens.slice(); }
  setLifetime(s) { this.lifetime = s; }
  // As Entra's: overwrite fields of the success body ({expires_on: ...}).
  setTokenFields(f) { this.tokenFields = f; }
  // Without a system-assigned identity, a request naming none is refused
  // when the VM has several user-assigned ones (as the real IMDS does).
  setSystemAssigned(b) { this.systemAssigned = b; }

  pick(q) {
    const by = (k, v) => this.identities.find((i) => i[k] === v);
    if (q.client_id) return by('clientId', q.client_id);
    if (q.object_id || q.principal_id) return by('objectId', q.object_id || q.principal_id);
    if (q.msi_res_id || q.mi_res_id) return by('resourceId', q.msi_res_id || q.mi_res_id);
    return this.systemAssigned ? this.identities[0] : undefined;
  }

  handle(req, res) {
    const url = new URL(req.url, 'http://127.0.0.1');
    const q = Object.fromEntries(url.searchParams);
    const entry = { time: Date.now(), method: req.method, path: url.pathname, query: q,
      headers: { metadata: req.headers.metadata, identityHeader: req.headers['x-identity-header'] ? '<redacted>' : undefined },
      viaProxy: /^http:/.test(req.url), status: 0 };
    this.log.push(entry);
    const reply = (status, body, headers) => { entry.status = status; send(res, status, body, headers); };
    const f = this.faults.find((x) => x.times > 0);
    if (f) {
      f.times--;
      return reply(f.status, f.body || { error: 'temporarily_unavailable', error_description: 'Injected failure.' },
        f.headers);
    }
    if (this.kind === 'imds') {
      // MSAL adds a trailing slash; the real IMDS accepts both.
      if (!/^\/metadata\/identity\/oauth2\/token\/?$/.test(url.pathname)) {
        return reply(404, { error: 'not_found', error_description: 'Not found' });
      }
      if (req.headers.metadata !== 'true') {
        return reply(400, { error: 'bad_request_102', error_description: 'Required metadata header not specified' });
      }
      if (q['api-version'] !== '2018-02-01' && q['api-version'] !== '2019-08-01') {
        return reply(400, { error: 'invalid_request', error_description: 'Invalid api-version' });
      }
    } else {
      if (req.headers['x-identity-header'] !== this.header) {
        return reply(401, { statusCode: 401, message: 'Unauthorized: X-IDENTITY-HEADER is missing or invalid' });
      }
      if (q['api-version'] !== '2019-08-01') {
        return reply(400, { statusCode: 400, message: 'Invalid api-version' });
      }
    }
    if (!q.resource) {
      return reply(400, { error: 'invalid_request', error_description: 'Required query variable \'resource\' is missing' });
    }
    const named = q.client_id || q.object_id || q.principal_id || q.msi_res_id || q.mi_res_id;
    if (!named && !this.systemAssigned && this.identities.length > 1) {
      return reply(400, { error: 'invalid_request', error_description: 'Multiple user assigned identities exist, ' +
        'please specify the clientId / resourceId of the identity in the token request' });
    }
    const id = named || this.systemAssigned ? this.pick(q) : this.identities[0];
    if (!id) return reply(400, { error: 'invalid_request', error_description: 'Identity not found' });
    const now = Math.floor(Date.now() / 1000);
    const resource = q.resource.replace(/\/$/, '');
    const token = jwt.sign({
      aud: resource, iss: `https://sts.windows.net/${this.entra.tenantId}/`, iat: now, nbf: now,
      exp: now + this.lifetime, appid: id.clientId, oid: id.objectId, sub: id.objectId,
      tid: this.entra.tenantId, xms_mirid: id.resourceId, uti: crypto.randomBytes(16).toString('base64url'),
      ver: '1.0',
    }, this.entra.kp, { x5t: this.entra.kp.kid });
    this.tokens.push({ iat: now, exp: now + this.lifetime, clientId: id.clientId });
    let body;
    if (this.kind === 'imds') {
      // Every value a string, as the real IMDS sends them.
      body = { access_token: token, client_id: id.clientId, expires_in: String(this.lifetime),
        expires_on: String(now + this.lifetime), ext_expires_in: String(this.lifetime),
        not_before: String(now), resource: q.resource, token_type: 'Bearer' };
    } else {
      body = { access_token: token, expires_on: String(now + this.lifetime), resource: q.resource,
        token_type: 'Bearer', client_id: id.clientId };
    }
    overrideFields(body, this.tokenFields, now, this.lifetime);
    return reply(200, body);
  }

  listen(port = 0) {
    this.server = http.createServer((q, s) => this.handle(q, s));
    return new Promise((resolve) => this.server.listen(port, '127.0.0.1', () => {
      this.url = `http://127.0.0.1:${this.server.address().port}`;
      resolve(this.url);
    }));
  }

  close() {
    return new Promise((r) => { this.server.closeAllConnections?.(); this.server.close(() => r()); });
  }
}

module.exports = { IdentityEndpoint };
