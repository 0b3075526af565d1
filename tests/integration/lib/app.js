'use strict';
// A stand-in application for notification tests: records the signals and
// HTTP calls it receives, one JSON line each, in RECORD.
//   node app.js RECORD [--pid-file F] [--pid-delay MS] [--port-file F] [--title T]

const fs = require('node:fs');
const http = require('node:http');

const [record, ...rest] = process.argv.slice(2);
const opt = {};
for (let i = 0; i < rest.length; i += 2) opt[rest[i].replace(/^--/, '')] = rest[i + 1];
if (opt.title) process.title = opt.title;

const note = (o) => fs.appendFileSync(record, `${JSON.stringify({ t: Date.now(), ...o })}\n`);
for (const sig of ['SIGHUP', 'SIGUSR1', 'SIGUSR2']) process.on(sig, () => note({ kind: 'signal', sig }));
process.on('SIGTERM', () => process.exit(0));

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    note({ kind: 'http', method: req.method, path: req.url, body });
    res.writeHead(opt.status ? Number(opt.status) : 204);
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => {
  if (opt['port-file']) fs.writeFileSync(opt['port-file'], String(server.address().port));
  const writePid = () => {
    if (opt['pid-file']) {
      fs.writeFileSync(`${opt['pid-file']}.tmp`, `${process.pid}\n`);
      fs.renameSync(`${opt['pid-file']}.tmp`, opt['pid-file']);
    }
    note({ kind: 'ready', pid: process.pid });
  };
  setTimeout(writePid, Number(opt['pid-delay'] || 0));
});
