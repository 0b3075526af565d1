'use strict';
// Azurite, the Azure Storage emulator (npm azurite), as the blob service of
// the tests: HTTPS with the doubles' test certificate, "--oauth basic"
// (Bearer tokens are checked for iss, aud, nbf and exp, not for a
// signature), in-memory, on an ephemeral port.  In front of it runs a
// recording reverse proxy (same certificate), so a test sees every request
// akvd makes: method, path, If-None-Match, x-ms-version, Authorization
// scheme, and Azurite's status.  Blobs are uploaded with the official SDK
// (@azure/storage-blob) in a child process (blob-client.js), which reads
// NODE_EXTRA_CA_CERTS at start-up.

const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');

const ACCOUNT = 'devstoreaccount1';
const MAIN = path.join(__dirname, '..', '..', 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js');
const CLIENT = path.join(__dirname, 'blob-client.js');

// pkiDir: the directory makePki() filled (ca.pem, server.pem, server.key).
async function startAzurite({ dir, pkiDir }) {
  fs.mkdirSync(dir, { recursive: true });
  const cert = path.join(pkiDir, 'server.pem');
  const key = path.join(pkiDir, 'server.key');
  const caFile = path.join(pkiDir, 'ca.pem');
  const ca = fs.readFileSync(caFile);
  const proc = spawn(process.execPath, [MAIN, '--blobHost', '127.0.0.1', '--blobPort', '0',
    '--cert', cert, '--key', key, '--oauth', 'basic', '--inMemoryPersistence',
    '--extentMemoryLimit', '64', '--disableTelemetry',
    // The uploading SDK speaks a newer x-ms-version than this Azurite knows;
    // akvd's own 2020-04-08 needs no such leniency.
    '--skipApiVersionCheck'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`azurite did not start:\n${output}`)), 30000);
    const onData = (b) => {
      output += b.toString();
      const m = /successfully listens on https:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`azurite exited (${code}):\n${output}`));
    });
  });
  const azuriteUrl = `https://127.0.0.1:${port}/${ACCOUNT}`;

  // The recording proxy, which can also answer in Azurite's place: faults
  // are {match (a path substring), status, code, retryAfter, times}.
  const log = [];
  const faults = [];
  const agent = new https.Agent({ keepAlive: true, ca });
  const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (q, s) => {
    const auth = q.headers.authorization || '';
    const entry = {
      time: Date.now(), method: q.method, path: q.url, ifNoneMatch: q.headers['if-none-match'],
      version: q.headers['x-ms-version'], auth: auth.split(' ')[0] || null, status: null,
    };
    log.push(entry);
    const f = faults.find((x) => x.times > 0 && q.url.includes(x.match));
    if (f) {
      f.times--;
      entry.status = f.status;
      entry.errorCode = f.code;
      entry.injected = true;
      const h = { 'content-type': 'application/xml', 'x-ms-error-code': f.code };
      if (f.retryAfter !== undefined) h['retry-after'] = String(f.retryAfter);
      q.resume();
      s.writeHead(f.status, h);
      s.end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${f.code}</Code>` +
        `<Message>${f.message || 'injected by the test'}</Message></Error>`);
      return;
    }
    const headers = { ...q.headers, host: `127.0.0.1:${port}` };
    const up = https.request({ host: '127.0.0.1', port, method: q.method, path: q.url, headers, agent }, (r) => {
      entry.status = r.statusCode;
      entry.errorCode = r.headers['x-ms-error-code'];
      s.writeHead(r.statusCode, r.headers);
      r.pipe(s);
    });
    up.on('error', (e) => {
      entry.status = 502;
      s.writeHead(502);
      s.end(String(e));
    });
    q.pipe(up);
  });
  server.keepAliveTimeout = 120000;
  const sockets = new Set();
  server.on('connection', (c) => { sockets.add(c); c.on('close', () => sockets.delete(c)); });
  const proxyPort = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });

  // One SDK operation in a child process: {op, container, blob, data}.
  function client(op) {
    return new Promise((resolve, reject) => {
      execFile(process.execPath, [CLIENT, azuriteUrl, JSON.stringify(op)], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile }, timeout: 30000,
      }, (err, stdout, stderr) => {
        let r;
        try {
          r = JSON.parse(stdout);
        } catch (e) {
          reject(new Error(`blob-client: ${err || ''}\n${stdout}\n${stderr}`));
          return;
        }
        if (r.fatal) reject(new Error(`blob-client: ${r.fatal}`));
        else resolve(r);
      });
    });
  }

  return {
    account: ACCOUNT,
    // The path-style URL of a blob, through the recording proxy.
    url: (container, blob) => `https://127.0.0.1:${proxyPort}/${ACCOUNT}/${container}/${blob}`,
    requests: () => log.slice(),
    clearRequests: () => { log.length = 0; },
    fault: (f) => { faults.push({ times: 1, ...f }); },
    createContainer: (container) => client({ op: 'create-container', container }),
    // Returns { etag }.
    put: (container, blob, data) => client({ op: 'put', container, blob,
      data: Buffer.from(data).toString('base64') }),
    output: () => output,
    async close() {
      for (const c of sockets) c.destroy();
      await new Promise((r) => server.close(() => r()));
      agent.destroy();
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
    },
  };
}

module.exports = { startAzurite };
