'use strict';
// Drives the official Azure SDK for JavaScript against the doubles, so the
// doubles are proven to follow the real protocol rather than akvd.  Run in a
// child process (NODE_EXTRA_CA_CERTS is read only at start-up):
//   node sdk-client.js workload|secret VAULT_URL [CLIENT_SECRET]
// The workload-identity variables come from the environment, as the webhook
// sets them.  Prints one JSON object with what each call returned.

const { WorkloadIdentityCredential, ClientSecretCredential } = require('@azure/identity');
const { SecretClient } = require('@azure/keyvault-secrets');

async function attempt(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, statusCode: e.statusCode, code: e.code, message: String(e.message).split('\n')[0] };
  }
}

async function main() {
  const [mode, vaultUrl, clientSecret] = process.argv.slice(2);
  const env = process.env;
  const credential = mode === 'secret'
    ? new ClientSecretCredential(env.AZURE_TENANT_ID, env.AZURE_CLIENT_ID, clientSecret,
      { authorityHost: env.AZURE_AUTHORITY_HOST, disableInstanceDiscovery: true })
    : new WorkloadIdentityCredential({ disableInstanceDiscovery: true });
  const client = new SecretClient(vaultUrl, credential, { disableChallengeResourceVerification: true,
    retryOptions: { maxRetries: 0 } });
  const out = {};
  const token = await attempt(() => credential.getToken('https://vault.azure.net/.default'));
  out.token = token.ok ? { ok: true, expiresInS: Math.round((token.value.expiresOnTimestamp - Date.now()) / 1000) }
    : token;
  out.latest = await attempt(async () => {
    const s = await client.getSecret('conf');
    return { value: s.value, version: s.properties.version, enabled: s.properties.enabled,
      contentType: s.properties.contentType, name: s.name };
  });
  out.byVersion = await attempt(async () => (await client.getSecret('conf', { version: env.FIRST_VERSION })).value);
  out.versions = await attempt(async () => {
    const vs = [];
    for await (const p of client.listPropertiesOfSecretVersions('many')) vs.push(p.version);
    return vs;
  });
  out.list = await attempt(async () => {
    const names = [];
    for await (const p of client.listPropertiesOfSecrets()) names.push(p.name);
    return names.sort();
  });
  out.tags = await attempt(async () => {
    for await (const p of client.listPropertiesOfSecrets()) if (p.name === 'many') return p.tags;
    return null;
  });
  out.managed = await attempt(async () => {
    const s = await client.getSecret('tls');
    return { managed: s.properties.managed, contentType: s.properties.contentType,
      keyId: s.properties.certificateKeyId, version: s.properties.version };
  });
  out.missing = await attempt(() => client.getSecret('no-such-secret'));
  out.disabled = await attempt(() => client.getSecret('conf', { version: env.DISABLED_VERSION }));
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String(e && e.stack || e) }));
  process.exitCode = 1;
});
