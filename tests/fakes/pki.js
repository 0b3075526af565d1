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

// A 3-level chain made with the openssl CLI: an RSA root, an RSA
// intermediate, and a leaf (RSA, or EC on P-256 when ${ec}) issued by the
// intermediate, every certificate with subject and authority key ids.
// Returns the PEM texts, the files, the PFX (empty password, the chain in
// ${order}) and the PEM file of Key Vault (key, then certificates in
// ${order}).  ${order} names "leaf", "inter", "root".
function makeChain(dir, { ec = false, order = ['root', 'leaf', 'inter'], cn = 'app.example.com' } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n) => path.join(dir, n);
  const caExt = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' +
    'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n';
  fs.writeFileSync(f('ca.ext'), caExt);
  fs.writeFileSync(f('leaf.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n' +
    `subjectAltName=DNS:${cn}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('root.key'), '-out', f('root.pem'),
    '-days', '2', '-subj', '/CN=akvd test root', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('inter.key'), '-out', f('inter.csr'),
    '-subj', '/CN=akvd test intermediate']);
  openssl(['x509', '-req', '-in', f('inter.csr'), '-CA', f('root.pem'), '-CAkey', f('root.key'),
    '-CAcreateserial', '-days', '2', '-out', f('inter.pem'), '-extfile', f('ca.ext')]);
  const keyArgs = ec ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  openssl(['req', ...keyArgs, '-nodes', '-keyout', f('leaf.key'), '-out', f('leaf.csr'), '-subj', `/CN=${cn}`]);
  openssl(['x509', '-req', '-in', f('leaf.csr'), '-CA', f('inter.pem'), '-CAkey', f('inter.key'),
    '-CAcreateserial', '-days', '2', '-out', f('leaf.pem'), '-extfile', f('leaf.ext')]);
  const pem = { leaf: fs.readFileSync(f('leaf.pem'), 'utf8'), inter: fs.readFileSync(f('inter.pem'), 'utf8'),
    root: fs.readFileSync(f('root.pem'), 'utf8') };
  const others = order.filter((n) => n !== 'leaf');
  fs.writeFileSync(f('others.pem'), others.map((n) => pem[n]).join(''));
  openssl(['pkcs12', '-export', '-passout', 'pass:', '-inkey', f('leaf.key'), '-in', f('leaf.pem'),
    '-certfile', f('others.pem'), '-out', f('leaf.pfx')]);
  const key = fs.readFileSync(f('leaf.key'), 'utf8');
  return {
    pem, key, files: { leaf: f('leaf.pem'), inter: f('inter.pem'), root: f('root.pem'), key: f('leaf.key') },
    pfx: fs.readFileSync(f('leaf.pfx')),
    kvPem: key + order.map((n) => pem[n]).join(''),
  };
}

module.exports = { makePki, makeClientCert, makeChain };
