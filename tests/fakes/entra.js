'use strict';
// A double of the Microsoft Entra ID v2 token endpoint (client credentials
// with a client assertion or a client secret), speaking the real wire
// format: x-www-form-urlencoded requests, JSON answers, AADSTS errors with
// the real body shape (see ../../shared/PROTOCOLS.md section 2).

const crypto = require('node:crypto');
const jwt = require('./jwt');

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const SKEW = 0; // Entra allows little; the tests rely on exact expiry

// The OAuth "error" that goes with each AADSTS code.
const ERROR_NAMES = {
  70021: 'invalid_request', 700211: 'invalid_request', 700212: 'invalid_request', 700213: 'invalid_request',
  700024: 'invalid_client', 700027: 'invalid_client', 7000272: 'invalid_client', 7000215: 'invalid_client',
  7000222: 'invalid_client', 7000218: 'invalid_client', 700016: 'unauthorized_client', 90002: 'invalid_request',
  1002012: 'invalid_scope', 50000: 'temporarily_unavailable', 50027: 'invalid_request',
};

function aadTimestamp(d = new Date()) {
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

class Entra {
  constructor({ tenantId, clientId, issuer, accessTokenLifetime = 3600, refreshIn, federatedCredentials,
    clientSecrets = [] }) {
    this.tenantId = tenantId;
    this.clientId = clientId;
    this.clusterIssuer = issuer;    // ClusterIssuer whose tokens we trust
    this.kp = jwt.keyPair();
    this.lifetime = accessTokenLifetime;
    this.refreshIn = refreshIn;
    this.fics = federatedCredentials || [{
      issuer: issuer.issuer, subject: 'system:serviceaccount:default:app',
      audiences: ['api://AzureADTokenExchange'],
    }];
    this.clientSecrets = clientSecrets;
    this.certificates = [];         // registered: { x5t256, x5t, key }
    this.log = [];
    this.tokens = [];
    this.faults = [];
    this.tokenFields = null;        // overrides of the success body
    this.authority = null;          // set by the server once listening
  }

  jwks() { return { keys: [this.kp.jwk] }; }
  setAccessTokenLifetime(s) { this.lifetime = s; }
  setRefreshIn(s) { this.refreshIn = s; }
  // Overwrite fields of the success body ({expires_in: '1.5'}): a value of
  // undefined removes the field, a function gets (now, lifetime).  The
  // token itself still lives accessTokenLifetime.  null: as the real one.
  setTokenFields(f) { this.tokenFields = f; }
  setFederatedCredentials(f) { this.fics = f; }
  setClientSecrets(s) { this.clientSecrets = s; }
  // Register a certificate (PEM) of the app, as "Certificates & secrets".
  registerCertificate(pem) {
    const x = new crypto.X509Certificate(pem);
    this.certificates.push({
      x5t256: crypto.createHash('sha256').update(x.raw).digest('base64url'),
      x5t: crypto.createHash('sha1').update(x.raw).digest('base64url'),
      key: x.publicKey,
    });
  }
  fault(f) { this.faults.push({ times: Infinity, ...f }); }
  clearFaults() { this.faults = []; }
  requests() { return this.log.slice(); }
  issued() { return this.tokens.slice(); }

  error(res, status, code, text, entry, headers) {
    const error = ERROR_NAMES[code] || 'invalid_request';
    const now = new Date();
    const trace = crypto.randomUUID();
    const corr = crypto.randomUUID();
    const body = {
      error,
      error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${corr}\r\n` +
        `Timestamp: ${aadTimestamp(now)}`,
      error_codes: [code],
      timestamp: aadTimestamp(now),
      trace_id: trace,
      correlation_id: corr,
      error_uri: `${this.authority || 'https://login.microsoftonline.com/'}error?code=${code}`,
    };
    entry.status = status;
    entry.error = `AADSTS${code}`;
    send(res, status, body, headers);
  }

  // An assertion signed with the app's certificate (RFC 7523, as MSAL and
  // akvd's client_certificate make them).
  checkCertAssertion(assertion, d, entry, res, tokenUrl) {
    const h = d.header;
    const cert = this.certificates.find((c) => (h['x5t#S256'] && c.x5t256 === h['x5t#S256']) ||
      (h.x5t && c.x5t === h.x5t));
    const c = d.claims;
    entry.assertionClaims = { iss: c.iss, sub: c.sub, aud: c.aud, exp: c.exp, nbf: c.nbf, jti: c.jti,
      alg: h.alg, x5tS256: h['x5t#S256'] };
    if (!cert) {
      this.error(res, 401, 700027, 'Client assertion failed signature validation. [Reason - The key was not ' +
        `found., Thumbprint of key used by client: '${h['x5t#S256'] || h.x5t}']`, entry);
      return false;
    }
    const [hh, pp, ss] = assertion.split('.');
    const input = Buffer.from(`${hh}.${pp}`);
    const sig = Buffer.from(ss, 'base64url');
    let ok = false;
    if (h.alg === 'RS256') ok = crypto.verify('sha256', input, cert.key, sig);
    else if (h.alg === 'PS256') {
      ok = crypto.verify('sha256', input, { key: cert.key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32 }, sig);
    }
    if (!ok) {
      this.error(res, 401, 700027, 'Client assertion failed signature validation.', entry);
      return false;
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof c.exp !== 'number' || now >= c.exp || (typeof c.nbf === 'number' && now < c.nbf - 300)) {
      this.error(res, 401, 700024, 'Client assertion is not within its valid time range.', entry);
      return false;
    }
    if (c.aud !== tokenUrl) {
      this.error(res, 400, 50027, `JWT token is invalid or malformed. Invalid audience '${c.aud}'.`, entry);
      return false;
    }
    if (c.iss !== this.clientId || c.sub !== this.clientId || !c.jti) {
      this.error(res, 400, 50027, 'JWT token is invalid or malformed. iss and sub must be the client id, ' +
        'jti is required.', entry);
      return false;
    }
    return true;
  }

  // The assertion presented by a federated (workload identity) client.
  checkAssertion(assertion, entry, res) {
    let d;
    try {
      d = jwt.verify(assertion, this.clusterIssuer.jwks());
    } catch (e) {
      if (e.reason === 'kid') {
        this.error(res, 401, 7000272, 'The certificate with identifier used to sign the client assertion ' +
          'is not registered on application.', entry);
      } else {
        this.error(res, 401, 700027, 'Client assertion failed signature validation.', entry);
      }
      return false;
    }
    const c = d.claims;
    entry.assertionClaims = { iss: c.iss, sub: c.sub, aud: c.aud, exp: c.exp, nbf: c.nbf, iat: c.iat };
    const now = Math.floor(Date.now() / 1000);
    if (typeof c.exp !== 'number' || now >= c.exp + SKEW || (typeof c.nbf === 'number' && now < c.nbf - SKEW)) {
      this.error(res, 401, 700024, 'Client assertion is not within its valid time range. ' +
        `Current time: ${new Date().toISOString()}, assertion valid from ` +
        `${new Date((c.nbf || c.iat) * 1000).toISOString()}, expiry time of assertion ` +
        `${new Date(c.exp * 1000).toISOString()}. Review the documentation at ` +
        'https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .',
      entry);
      return false;
    }
    const auds = Array.isArray(c.aud) ? c.aud : [c.aud];
    const ok = this.fics.some((f) => f.issuer === c.iss && f.subject === c.sub &&
      auds.some((a) => f.audiences.includes(a)));
    if (!ok) {
      this.error(res, 400, 70021, 'No matching federated identity record found for presented assertion. ' +
        `Assertion Issuer: '${c.iss}'. Assertion Subject: '${c.sub}'. Assertion Audience: '${auds.join(',')}'. ` +
        'https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation', entry);
      return false;
    }
    return true;
  }

  token(req, res, tenant, form) {
    const entry = { time: Date.now(), path: req.url, form: { ...form }, status: 0, error: null };
    if (entry.form.client_assertion) entry.form.client_assertion = '<redacted>';
    if (entry.form.client_secret) entry.form.client_secret = '<redacted>';
    this.log.push(entry);
    const f = this.faults.find((x) => x.times > 0);
    if (f) {
      f.times--;
      if (f.raw) {
        entry.status = f.raw(req, res, entry) || 0;
        return undefined;
      }
      if (f.aadsts) {
        return this.error(res, f.status || 400, f.aadsts, (f.description || 'Injected failure.')
          .replace(/^AADSTS\d+: /, ''), entry, f.headers);
      }
      entry.status = f.status || 500;
      return send(res, entry.status, f.body || { error: 'temporarily_unavailable',
        error_description: 'AADSTS50000: There was an error issuing a token.' }, f.headers);
    }
    if (tenant !== this.tenantId) {
      return this.error(res, 400, 90002, `Tenant '${tenant}' not found. Check to make sure you have the ` +
        'correct tenant ID and are signing into the correct cloud.', entry);
    }
    if (form.grant_type !== 'client_credentials') {
      entry.status = 400;
      return send(res, 400, { error: 'unsupported_grant_type',
        error_description: `AADSTS70003: The app requested an unsupported grant type '${form.grant_type}'.` });
    }
    if (form.client_id !== this.clientId) {
      return this.error(res, 400, 700016, `Application with identifier '${form.client_id}' was not found in ` +
        `the directory '${tenant}'. This can happen if the application has not been installed by the ` +
        'administrator of the tenant or consented to by any user in the tenant. You may have sent your ' +
        'authentication request to the wrong tenant.', entry);
    }
    const scope = form.scope || '';
    if (!/^\S+\/\.default$/.test(scope)) {
      return this.error(res, 400, 1002012, `The provided value for scope ${scope} is not valid. Client ` +
        'credential flows must have a scope value with /.default suffixed to the resource identifier ' +
        '(application ID URI).', entry);
    }
    if (form.client_assertion !== undefined) {
      if (form.client_assertion_type !== ASSERTION_TYPE) {
        return this.error(res, 400, 90002, 'Invalid client_assertion_type.', entry);
      }
      const d = jwt.decode(form.client_assertion);
      if (d && (d.header['x5t#S256'] || d.header.x5t)) {
        const tokenUrl = `${this.authority}${tenant}/oauth2/v2.0/token`;
        if (!this.checkCertAssertion(form.client_assertion, d, entry, res, tokenUrl)) return undefined;
      } else if (!this.checkAssertion(form.client_assertion, entry, res)) return undefined;
    } else if (form.client_secret !== undefined) {
      if (!this.clientSecrets.includes(form.client_secret)) {
        return this.error(res, 401, 7000215, 'Invalid client secret provided. Ensure the secret being sent ' +
          `in the request is the client secret value, not the client secret ID, for a secret added to app '${this.clientId}'.`,
        entry);
      }
    } else {
      return this.error(res, 401, 7000218, "The request body must contain the following parameter: " +
        "'client_assertion' or 'client_secret'.", entry);
    }
    const resource = scope.replace(/\/\.default$/, '');
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      aud: resource, iss: `https://sts.windows.net/${this.tenantId}/`, iat: now, nbf: now,
      exp: now + this.lifetime, aio: crypto.randomBytes(12).toString('base64url'),
      appid: this.clientId, appidacr: '2', idp: `https://sts.windows.net/${this.tenantId}/`,
      oid: '9f2b6b1c-0000-4000-8000-00000000a11d', rh: '0.AAAA', sub: '9f2b6b1c-0000-4000-8000-00000000a11d',
      tid: this.tenantId, uti: crypto.randomBytes(16).toString('base64url'), ver: '1.0',
    };
    const token = jwt.sign(claims, this.kp, { x5t: this.kp.kid });
    this.tokens.push({ iat: now, exp: claims.exp, aud: resource });
    const body = { token_type: 'Bearer', expires_in: this.lifetime, ext_expires_in: this.lifetime,
      access_token: token };
    if (this.refreshIn !== undefined) body.refresh_in = this.refreshIn;
    overrideFields(body, this.tokenFields, now, this.lifetime);
    entry.status = 200;
    return send(res, 200, body);
  }

  openidConfiguration(tenant) {
    const a = this.authority;
    return {
      token_endpoint: `${a}${tenant}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${a}${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${a}${tenant}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
      authorization_endpoint: `${a}${tenant}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${a}${tenant}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${a}${tenant}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid'],
      kerberos_endpoint: `${a}${tenant}/kerberos`,
      tenant_region_scope: 'NA',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  }

  // The request handler of the HTTPS server.
  handle(req, res) {
    const url = new URL(req.url, 'https://127.0.0.1');
    const parts = url.pathname.split('/').filter(Boolean);
    let m;
    if (req.method === 'POST' && parts.length === 4 && parts[1] === 'oauth2' && parts[2] === 'v2.0' &&
        parts[3] === 'token') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const ct = req.headers['content-type'] || '';
        if (!ct.startsWith('application/x-www-form-urlencoded')) {
          return send(res, 400, { error: 'invalid_request',
            error_description: 'AADSTS900144: The request body must contain the following parameter: \'grant_type\'.' });
        }
        return this.token(req, res, parts[0], Object.fromEntries(new URLSearchParams(body)));
      });
      return;
    }
    if (req.method === 'GET' && (m = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(url.pathname))) {
      send(res, 200, this.openidConfiguration(m[1]));
      return;
    }
    if (req.method === 'GET' && /^\/[^/]+\/discovery\/v2\.0\/keys$/.test(url.pathname)) {
      send(res, 200, this.jwks());
      return;
    }
    if (req.method === 'GET' && url.pathname === '/common/discovery/instance') {
      const host = `127.0.0.1:${req.socket.localPort}`;
      send(res, 200, { tenant_discovery_endpoint: `${this.authority}${url.searchParams.get('authorization_endpoint')?.split('/')[3] || 'common'}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1', metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }] });
      return;
    }
    send(res, 404, { error: 'invalid_request', error_description: `AADSTS900561: The endpoint only accepts POST requests. Received a ${req.method} request.` });
  }
}

// Apply setTokenFields() overrides to a success body.
function overrideFields(body, fields, now, lifetime) {
  for (const [k, v] of Object.entries(fields || {})) {
    if (v === undefined) delete body[k];
    else body[k] = typeof v === 'function' ? v(now, lifetime) : v;
  }
}

function send(res, status, body, headers = {}) {
  const b = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': b.length,
    'Cache-Control': 'no-store, no-cache',
    'x-ms-request-id': crypto.randomUUID(),
    ...headers,
  });
  res.end(b);
}

module.exports = { Entra, send, overrideFields };
