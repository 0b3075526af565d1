'use strict';
// Drives the official Azure Storage SDK for JavaScript against Azurite with
// the emulator's well-known account key (run in a child process:
// NODE_EXTRA_CA_CERTS is read only at start-up):
//   node blob-client.js ACCOUNT_URL '{"op":"put","container":"c","blob":"b","data":"<base64>"}'
// Prints one JSON object.

const { BlobServiceClient, StorageSharedKeyCredential } = require('@azure/storage-blob');

// Azurite's documented development account.
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

async function main() {
  const [url, json] = process.argv.slice(2);
  const op = JSON.parse(json);
  const svc = new BlobServiceClient(url, new StorageSharedKeyCredential(ACCOUNT, KEY),
    { retryOptions: { maxTries: 1 } });
  const container = svc.getContainerClient(op.container);
  let out;
  if (op.op === 'create-container') {
    await container.create();
    out = { ok: true };
  } else if (op.op === 'put') {
    const data = Buffer.from(op.data, 'base64');
    const r = await container.getBlockBlobClient(op.blob).upload(data, data.length);
    out = { ok: true, etag: r.etag };
  } else {
    throw new Error(`unknown op ${op.op}`);
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String(e && e.stack || e) }));
  process.exitCode = 1;
});
