'use strict';
// startDoubles(): Entra ID, Key Vault and the kubelet's token projection,
// over HTTPS on 127.0.0.1 with a CA generated for this run.  See README.md.

const https = require('node:https');
const fs = require('node:fs');
const path = require('node:path');
const { makePki } = require('./pki');
const { ClusterIssuer, TokenVolume } = require('./kubelet');
const { Entra } = require('./entra');
const { KeyVault } = require('./keyvault');
const { IdentityEndpoint } = require('./identity');

// The identities of the fake VM / App Service: the first is the
// system-assigned one, the second a user-assigned one.
const IDENTITIES = [
  { clientId: '5b0e1a6c-0000-4000-8000-00000000000a', objectId: '6c1f2b7d-0000-4000-8000-00000000000a',
    resourceId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/providers/Microsoft.Compute/virtualMachines/vm1' },
  { clientId: '5b0e1a6c-0000-4000-8000-00000000000b', objectId: '6c1f2b7d-0000-4000-8000-00000000000b',
    resourceId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-b' },
];

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port || 0, '127.0.0.1', () => resolve(server.address().port));
  });
}

async function startDoubles({
  dir, tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47', clientId = '0d6e1c5a-3f6b-4c7e-9a51-2b8c4f1e7d90',
  saTokenLifetime = 3600, accessTokenLifetime = 3600, refreshIn, entraPort, kvPort,
  namespace = 'default', serviceAccount = 'app', federatedCredentials, clientSecrets,
} = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const pki = makePki(dir);
  const tls = { key: pki.key, cert: pki.cert, keepAliveTimeout: 120000 };

  const issuer = new ClusterIssuer();
  const kubelet = new TokenVolume(path.join(dir, 'tokens'), issuer,
    { namespace, serviceAccount, lifetime: saTokenLifetime });
  kubelet.rotate();

  const entra = new Entra({ tenantId, clientId, issuer, accessTokenLifetime, refreshIn,
    federatedCredentials, clientSecrets });
  const kv = new KeyVault({ tenantId, entra });

  const imds = new IdentityEndpoint({ kind: 'imds', entra, identities: IDENTITIES });
  const appService = new IdentityEndpoint({ kind: 'appservice', entra, identities: IDENTITIES,
    header: 'identity-header-0123456789abcdef' });
  await imds.listen();
  await appService.listen();

  const entraServer = https.createServer(tls, (q, s) => entra.handle(q, s));
  const kvServer = https.createServer(tls, (q, s) => kv.handle(q, s));
  kvServer.on('secureConnection', () => { kv.connections++; });
  const sockets = new Set();
  for (const srv of [entraServer, kvServer]) {
    srv.keepAliveTimeout = 120000;
    srv.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  }
  const ep = await listen(entraServer, entraPort);
  const kp = await listen(kvServer, kvPort);
  entra.authority = `https://127.0.0.1:${ep}/`;
  kv.url = `https://127.0.0.1:${kp}`;

  return {
    caFile: pki.caFile,
    authorityHost: entra.authority,
    vaultUrl: kv.url,
    tokenFile: kubelet.file,
    tenantId,
    clientId,
    env: {
      AZURE_TENANT_ID: tenantId,
      AZURE_CLIENT_ID: clientId,
      AZURE_FEDERATED_TOKEN_FILE: kubelet.file,
      AZURE_AUTHORITY_HOST: entra.authority,
    },
    imdsUrl: imds.url,
    identityEndpoint: `${appService.url}/msi/token`,
    identityHeader: appService.header,
    identities: IDENTITIES,
    imds,
    appService,
    issuer,
    kubelet,
    entra,
    kv,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([entraServer, kvServer].map((s) => new Promise((r) => s.close(() => r()))));
      await imds.close();
      await appService.close();
    },
  };
}

module.exports = { startDoubles };
