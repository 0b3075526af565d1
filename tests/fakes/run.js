#!/usr/bin/env node
'use strict';
// The doubles as a standalone process, for `make demo` and for trying akvd
// by hand:
//
//   node tests/fakes/run.js --dir DIR [--entra-port N] [--kv-port N]
//       [--control-port N] [--tenant-id ID] [--client-id ID]
//       [--sa-token-lifetime S] [--access-token-lifetime S]
//
// Writes DIR/doubles.json ({caFile, authorityHost, vaultUrl, tokenFile,
// tenantId, clientId, control}) once listening, rotates the projected token
// at 80% of its lifetime like the kubelet, logs one line per request, and
// runs until SIGTERM/SIGINT.  The control API (plain HTTP on 127.0.0.1):
//   POST   /secrets/NAME   body = the value      -> {"version": "..."}
//   POST   /faults         JSON fault (see README.md)  -> {"id": "..."}
//   DELETE /faults
//   GET    /requests       Key Vault request log
//   POST   /kubelet/rotate

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { startDoubles } = require('.');

function args(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)$/.exec(argv[i]);
    if (!m || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    o[m[1]] = argv[++i];
  }
  return o;
}

function body(req) {
  return new Promise((resolve) => {
    let b = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { b += c; });
    req.on('end', () => resolve(b));
  });
}

async function main() {
  const a = args(process.argv.slice(2));
  if (!a.dir) throw new Error('--dir is required');
  const num = (k) => (a[k] !== undefined ? Number(a[k]) : undefined);
  const d = await startDoubles({
    dir: path.resolve(a.dir),
    entraPort: num('entra-port'), kvPort: num('kv-port'),
    tenantId: a['tenant-id'], clientId: a['client-id'],
    saTokenLifetime: num('sa-token-lifetime'), accessTokenLifetime: num('access-token-lifetime'),
  });
  const log = (m) => process.stdout.write(`${new Date().toISOString()} ${m}\n`);
  // One line per request, from the doubles' own logs.
  let seenKv = 0, seenEntra = 0;
  const tick = setInterval(() => {
    const kv = d.kv.requests();
    for (; seenKv < kv.length; seenKv++) {
      const q = kv[seenKv];
      if (q.status) log(`keyvault ${q.method} ${q.path} -> ${q.status}`); else break;
    }
    const en = d.entra.requests();
    for (; seenEntra < en.length; seenEntra++) {
      const q = en[seenEntra];
      if (q.status) log(`entra token exchange for ${q.form.client_id} -> ${q.status}${q.error ? ` ${q.error}` : ''}`);
      else break;
    }
  }, 100);
  // Rotate the projected token like the kubelet: at 80% of its lifetime.
  const life = num('sa-token-lifetime') || 3600;
  const rot = setInterval(() => { d.kubelet.rotate(); log('kubelet rotated the projected token'); },
    life * 800);

  const control = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const reply = (status, o) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(o));
    };
    try {
      const b = await body(req);
      let m;
      if (req.method === 'POST' && (m = /^\/secrets\/([^/]+)$/.exec(url.pathname))) {
        const version = d.kv.setSecret(decodeURIComponent(m[1]), b);
        log(`control: new version of ${m[1]}: ${version}`);
        return reply(200, { version });
      }
      if (req.method === 'POST' && url.pathname === '/faults') return reply(200, { id: d.kv.fault(JSON.parse(b)) });
      if (req.method === 'DELETE' && url.pathname === '/faults') { d.kv.clearFaults(); return reply(200, {}); }
      if (req.method === 'GET' && url.pathname === '/requests') return reply(200, d.kv.requests());
      if (req.method === 'POST' && url.pathname === '/kubelet/rotate') { d.kubelet.rotate(); return reply(200, {}); }
      return reply(404, { error: 'no such control endpoint' });
    } catch (e) {
      return reply(400, { error: String(e.message) });
    }
  });
  await new Promise((r) => control.listen(num('control-port') || 0, '127.0.0.1', r));
  const info = {
    caFile: d.caFile, authorityHost: d.authorityHost, vaultUrl: d.vaultUrl, tokenFile: d.tokenFile,
    tenantId: d.tenantId, clientId: d.clientId, control: `http://127.0.0.1:${control.address().port}`,
  };
  const file = path.join(path.resolve(a.dir), 'doubles.json');
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(info, null, 2));
  fs.renameSync(`${file}.tmp`, file);
  log(`doubles ready: Entra ID ${d.authorityHost}, Key Vault ${d.vaultUrl}, control ${info.control}`);
  const stop = async () => {
    clearInterval(tick);
    clearInterval(rot);
    control.close();
    await d.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`run.js: ${e.message}\n`);
  process.exit(1);
});
