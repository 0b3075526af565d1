'use strict';
// A command for "exec" notifications: appends AKVD_CHANGED and its argv to
// RECORD, then sleeps SLEEP_MS (to test timeouts).  node record.js RECORD [SLEEP_MS]
const fs = require('node:fs');

const [record, sleep] = process.argv.slice(2);
fs.appendFileSync(record, `${JSON.stringify({ t: Date.now(), kind: 'exec', changed: process.env.AKVD_CHANGED,
  pid: process.pid })}\n`);
process.stdout.write('reloaded the app\n');
if (sleep) setTimeout(() => {}, Number(sleep));
