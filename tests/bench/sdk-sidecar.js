'use strict';
// make bench peer: the sidecar a team writes with the official Azure SDK for
// JavaScript (@azure/identity WorkloadIdentityCredential + @azure/keyvault-
// secrets SecretClient), doing akvd's job: keep secret-0..N-1 in files of
// OUT_DIR, rewritten (temp file + rename) only when the value changed.
//   node sdk-sidecar.js VAULT_URL OUT_DIR N
// Workload identity from the AZURE_* variables, the doubles' CA from
// NODE_EXTRA_CA_CERTS.  Polls once at start ("written" on stdout when every
// file is there), then on each SIGUSR2 (the bench drives the cycles; a real
// sidecar would use setInterval).  At most 8 requests in flight, as akvd.

const fs = require('node:fs');
const path = require('node:path');
const { WorkloadIdentityCredential } = require('@azure/identity');
const { SecretClient } = require('@azure/keyvault-secrets');

const [vaultUrl, outDir, n] = process.argv.slice(2);
const names = Array.from({ length: Number(n) }, (_, i) => `secret-${i}`);
const credential = new WorkloadIdentityCredential({ disableInstanceDiscovery: true });
const client = new SecretClient(vaultUrl, credential, { disableChallengeResourceVerification: true });
const have = new Map();

async function fetchOne(name) {
  const s = await client.getSecret(name);
  if (have.get(name) === s.value) return;
  const file = path.join(outDir, name);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, s.value, { mode: 0o440 });
  fs.renameSync(tmp, file);
  have.set(name, s.value);
}

async function cycle() {
  let next = 0;
  const worker = async () => {
    while (next < names.length) await fetchOne(names[next++]);
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

let running = Promise.resolve();
process.on('SIGUSR2', () => { running = running.then(cycle).catch((e) => console.error(e)); });
process.on('SIGTERM', () => process.exit(0));
running = cycle().then(() => process.stdout.write('written\n'), (e) => { console.error(e); process.exit(1); });
setInterval(() => {}, 1 << 30);	// stay alive between cycles
