'use strict';
// A CA generated per run with the openssl CLI, and a server certificate for
// 127.0.0.1 / localhost signed by it.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makePki(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n) => path.join(dir, n);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2',
    '-subj', '/CN=akvd test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(f('server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' +
    'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-days', '2', '-out', f('server.pem'), '-extfile', f('server.ext')]);
  return {
    caFile: f('ca.pem'),
    ca: fs.readFileSync(f('ca.pem')),
    key: fs.readFileSync(f('server.key')),
    cert: fs.readFileSync(f('server.pem')),
  };
}

// A service principal's certificate: RSA key + self-signed certificate in
// one PEM file (what akvd's client_certificate and the SDK's
// ClientCertificateCredential read).  Returns { pemFile, certPem }.
function makeClientCert(dir, name = 'sp') {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n) => path.join(dir, n);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`),
    '-out', f(`${name}.crt`), '-days', '2', '-subj', `/CN=${name}`]);
  const certPem = fs.readFileSync(f(`${name}.crt`), 'utf8');
  const pemFile = f(`${name}.pem`);
  fs.writeFileSync(pemFile, fs.readFileSync(f(`${name}.key`), 'utf8') + certPem, { mode: 0o600 });
  return { pemFile, certPem };
}

module.exports = { makePki, makeClientCert };
