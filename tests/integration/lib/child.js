'use strict';
// A supervised command for tests: records its start (the secret file it
// found and DB_PASSWORD), the signals it gets, and exits as told.
//   node child.js RECORD FILE [--ignore-term] [--exit CODE --after MS]
const fs = require('node:fs');

const [record, file, ...rest] = process.argv.slice(2);
const note = (o) => fs.appendFileSync(record, `${JSON.stringify({ t: Date.now(), pid: process.pid, ...o })}\n`);
let content = null;
try { content = fs.readFileSync(file, 'utf8'); } catch (e) { content = `missing: ${e.code}`; }
for (const sig of ['SIGHUP', 'SIGUSR2', 'SIGQUIT', 'SIGINT']) process.on(sig, () => note({ kind: 'signal', sig }));
if (rest.includes('--ignore-term')) process.on('SIGTERM', () => note({ kind: 'signal', sig: 'SIGTERM (ignored)' }));
// Only now: a test signals the command once it has started.
note({ kind: 'start', content, env: process.env.DB_PASSWORD || null });
const code = rest.indexOf('--exit');
if (code >= 0) {
  const after = Number(rest[rest.indexOf('--after') + 1] || 0);
  setTimeout(() => process.exit(Number(rest[code + 1])), after);
} else {
  setInterval(() => {}, 1 << 30);
}
