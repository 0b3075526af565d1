'use strict';
// `make demo` keeps working: the script starts the doubles, runs akvd with
// config/demo.json, rotates a secret and shows the file change.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { ROOT } = require('./lib/akvd');

test('scripts/demo.sh shows a rotation end to end', { timeout: 60000 }, async () => {
  const { code, stdout, stderr } = await new Promise((resolve) => {
    execFile('sh', [path.join(ROOT, 'scripts', 'demo.sh')], { cwd: ROOT, timeout: 55000 },
      (err, so, se) => resolve({ code: err ? err.code : 0, stdout: so, stderr: se }));
  });
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  assert.match(stdout, /password = correct horse battery staple/);
  assert.match(stdout, /password = new password after rotation/);
  assert.match(stdout, /object updated object=db-password alias=password/);
  assert.match(stdout, /-r--r----- .* demo\/secrets\/password/);
  assert.match(stdout, /-r-------- .* demo\/secrets\/config\/api-key/);
});
