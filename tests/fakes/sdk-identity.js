'use strict';
// The official @azure/identity credentials against the identity doubles:
//   node sdk-identity.js managed|managed-user|appservice|certificate ARG
// Prints {ok, expiresInS} or {ok:false, message}.

const { ManagedIdentityCredential, ClientCertificateCredential } = require('@azure/identity');

async function main() {
  const [mode, arg] = process.argv.slice(2);
  const env = process.env;
  let cred;
  if (mode === 'managed') cred = new ManagedIdentityCredential();
  else if (mode === 'managed-user') cred = new ManagedIdentityCredential({ clientId: arg });
  else if (mode === 'appservice') cred = new ManagedIdentityCredential();
  else if (mode === 'certificate') {
    cred = new ClientCertificateCredential(env.AZURE_TENANT_ID, env.AZURE_CLIENT_ID, { certificatePath: arg },
      { authorityHost: env.AZURE_AUTHORITY_HOST, disableInstanceDiscovery: true });
  } else throw new Error(`unknown mode ${mode}`);
  try {
    const t = await cred.getToken('https://vault.azure.net/.default');
    const claims = JSON.parse(Buffer.from(t.token.split('.')[1], 'base64url'));
    process.stdout.write(JSON.stringify({ ok: true, expiresInS: Math.round((t.expiresOnTimestamp - Date.now()) / 1000),
      aud: claims.aud, appid: claims.appid }));
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, message: String(e.message).split('\n')[0] }));
  }
}

main();
