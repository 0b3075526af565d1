'use strict';
// --once exit codes, --check, and configuration errors (exit 78, JSON path).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setup } = require('./lib/setup');
const { runAkvd, tmpdir, writeConfig, tryRead, ROOT } = require('./lib/akvd');

test('--once writes every object and exits 0', async (t) => {
  const fx = await setup(t);
  fx.set('one', 'once-1');
  fx.set('two', 'once-2');
  const r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'one' }, { name: 'two' }]))]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(tryRead(fx.out, 'one'), 'once-1');
  assert.equal(tryRead(fx.out, 'two'), 'once-2');
});

test('--once exits 1 when a required object is missing, 0 when it is optional', async (t) => {
  const fx = await setup(t);
  fx.set('present', 'present-value');
  let r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'present' }, { name: 'absent' }]))]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /object not fetched.*absent/);
  // What could be fetched was still written.
  assert.equal(tryRead(fx.out, 'present'), 'present-value');
  r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'present' },
    { name: 'absent', optional: true }]))]);
  assert.equal(r.code, 0, r.stderr);
});

// The blip: a fault the test lifts after ${ms}, while akvd keeps trying.
function blip(fx, who, fault, ms = 5000) {
  who.fault(fault);
  setTimeout(() => who.clearFaults(), ms).unref();
}

test('--once rides out a blip of a few seconds: Key Vault 503s, 429 with Retry-After, resets, token failures', async (t) => {
  const fx = await setup(t);
  fx.set('flaky', 'flaky-value');
  const cfg = fx.write(fx.config([{ name: 'flaky' }]));
  const instances = [
    ['Key Vault 503', fx.d.kv, { match: '/secrets/flaky', status: 503 }],
    ['Key Vault 429 + Retry-After', fx.d.kv, { match: '/secrets/flaky', status: 429, retryAfter: 2 }],
    ['connection reset', fx.d.kv, { match: '/secrets/flaky', reset: true }],
    ['Entra ID 500', fx.d.entra, { status: 500 }],
  ];
  for (const [what, who, fault] of instances) {
    fs.rmSync(fx.out, { recursive: true, force: true });
    fx.d.kv.clearRequests();
    blip(fx, who, fault);
    const r = await runAkvd(['--once', '-c', cfg], { timeout: 60000 });
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    assert.equal(tryRead(fx.out, 'flaky'), 'flaky-value', what);
    assert.match(r.stderr, /all objects written/, what);
    // One snapshot, written once.
    assert.equal(r.lines.filter((l) => /snapshot written/.test(l)).length, 1, what);
    fx.assertNoSecretsLogged({ log: () => r.stderr });
  }
});

test('--once: permanent errors fail at once with their message (403, 404), without retries', async (t) => {
  const fx = await setup(t);
  fx.set('ok', 'ok-value');
  fx.d.kv.fault({ match: '/secrets/denied', status: 403, body: { error: { code: 'Forbidden',
    message: 'The user does not have secrets get permission', innererror: { code: 'ForbiddenByRbac' } } } });
  const r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'ok' }, { name: 'denied' }, { name: 'absent' }]))]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /object fetch failed object=denied .*reason="HTTP 403 Forbidden\/ForbiddenByRbac" detail="The user does not have secrets get permission"/);
  assert.match(r.stderr, /object not fetched object=denied optional=false reason="HTTP 403 Forbidden\/ForbiddenByRbac"/);
  assert.match(r.stderr, /object not fetched object=absent optional=false reason="HTTP 404 SecretNotFound"/);
  const seen = (name) => fx.d.kv.requests().filter((q) => q.path === `/secrets/${name}`).length;
  assert.equal(seen('denied'), 1);
  assert.equal(seen('absent'), 1);
  assert.equal(tryRead(fx.out, 'ok'), 'ok-value', 'what could be fetched was written');
});

test('--once: transient failures beyond once_timeout exit 1 naming what failed; the earlier file is kept', async (t) => {
  const fx = await setup(t);
  fx.set('flaky', 'flaky-value');
  fx.set('fine', 'fine-value');
  let r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'flaky' }]))]);
  assert.equal(r.code, 0, r.stderr);
  fx.d.kv.fault({ match: '/secrets/flaky', status: 503 });
  fx.d.kv.fault({ match: '/secrets/slow', status: 429, retryAfter: 30 });
  r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'flaky' }, { name: 'fine' }, { name: 'slow' }],
    { once_timeout: '3s' }))]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /object not fetched object=flaky optional=false reason="HTTP 503 ServiceUnavailable"/);
  // A Retry-After beyond the deadline ends the attempts at once.
  assert.match(r.stderr, /object not fetched object=slow optional=false reason="HTTP 429 Throttled"/);
  assert.equal(fx.d.kv.requests().filter((q) => q.path === '/secrets/slow').length, 1);
  assert.ok(fx.d.kv.requests().filter((q) => q.path === '/secrets/flaky').length >= 2, 'flaky was retried');
  assert.match(r.stderr, /some required objects could not be written/);
  assert.equal(tryRead(fx.out, 'flaky'), 'flaky-value', 'the earlier file is not lost');
  assert.equal(tryRead(fx.out, 'fine'), 'fine-value');
  // A token endpoint failing beyond the deadline: the objects name it.
  fx.d.kv.clearFaults();
  fx.d.entra.fault({ status: 500 });
  r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'fine' }], { once_timeout: '3s' }))]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /once_timeout reached: no more retries once_timeout=3s/);
  assert.match(r.stderr, /object not fetched object=fine optional=false reason="no access token"/);
});

test('--once exits 1 when no token can be had', async (t) => {
  const fx = await setup(t);
  fx.set('s', 'no-token-value');
  fx.d.entra.fault({ status: 400, aadsts: 700016, error: 'unauthorized_client',
    description: "AADSTS700016: Application with identifier 'x' was not found in the directory 'y'." });
  const r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 's' }]))]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /AADSTS700016/);
});

test('bad configs exit 78 naming the JSON path', async () => {
  const dir = tmpdir();
  const cases = [
    [{ output_dir: '/tmp/x', vault: 'myvault', objects: [{ name: 'a', alias: '../../etc/passwd' }] },
      /objects\[0\]\.alias: must be a relative file name without /],
    [{ output_dir: '/tmp/x', vault: 'myvault', objects: [{ name: 'a', nmae: 'b' }] },
      /objects\[0\]\.nmae: unknown key/],
    [{ output_dir: '/tmp/x', vault: 'http://v.example', objects: [{ name: 'a' }] },
      /vault: \\?"http:\/\/v\.example\\?": must be https/],
    [{ output_dir: '/tmp/x', interval: '5x', vault: 'myvault', objects: [{ name: 'a' }] },
      /interval: invalid duration/],
    ['{ "output_dir": "/tmp/x", ', /invalid JSON at line 1/],
  ];
  const env = { AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_FEDERATED_TOKEN_FILE: '/t' };
  for (const [cfg, re] of cases) {
    const p = writeConfig(dir, cfg);
    for (const args of [['--check'], []]) {
      const r = await runAkvd([...args, '-c', p], { env });
      assert.equal(r.code, 78, `${JSON.stringify(cfg)}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
  }
  // Workload identity without the webhook's variables: what is missing.
  const p = writeConfig(dir, { output_dir: '/tmp/x', vault: 'myvault', auth: { method: 'workload_identity' },
    objects: [{ name: 'a' }] });
  const r = await runAkvd(['--check', '-c', p]);
  assert.equal(r.code, 78);
  assert.match(r.stderr, /auth\.client_id: required by workload_identity \(set it here or in AZURE_CLIENT_ID\)/);
  assert.match(r.stderr, /auth\.token_file: required by workload_identity \(set it here or in AZURE_FEDERATED_TOKEN_FILE\)/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('--check prints the normalized config; usage errors exit 2', async () => {
  const dir = tmpdir();
  const env = {
    AZURE_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47', AZURE_CLIENT_ID: '00000000-1111-2222-3333-444444444444',
    AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
    AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com/',
  };
  const p = writeConfig(dir, { output_dir: '/run/app', vault: 'myvault', objects: [{ name: 'db-password' }] });
  let r = await runAkvd(['--check', '-c', p], { env });
  assert.equal(r.code, 0, r.stderr);
  const n = JSON.parse(r.stdout);
  assert.equal(n.vault, 'https://myvault.vault.azure.net');
  assert.equal(n.interval, '2m');
  assert.equal(n.auth.tenant_id, env.AZURE_TENANT_ID);
  assert.equal(n.objects[0].alias, 'db-password');
  assert.equal(n.objects[0].mode, '0440');
  // The example configs shipped in config/ are valid.
  for (const f of fs.readdirSync(path.join(ROOT, 'config')).filter((x) => x.endsWith('.json') && x !== 'schema.json')) {
    r = await runAkvd(['--check', '-c', path.join(ROOT, 'config', f)], { env });
    assert.equal(r.code, 0, `${f}: ${r.stderr}`);
  }
  r = await runAkvd(['--bogus']);
  assert.equal(r.code, 2);
  r = await runAkvd(['--log-level', 'loud', '--check', '-c', p], { env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--log-level/);
  r = await runAkvd(['--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^akvd \d+\.\d+\.\d+/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('--once: a snapshot that cannot be written is tried once, logged once, and exits 1', async (t) => {
  const fx = await setup(t);
  fx.set('s', 'unwritable');
  const file = path.join(fx.dir, 'not-a-dir');
  fs.writeFileSync(file, '');
  const cfg = fx.config([{ name: 's' }]);
  cfg.output_dir = path.join(file, 'out');
  const r = await runAkvd(['--once', '-c', fx.write(cfg)]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.lines.filter((l) => /snapshot not written: keeping the previous one/.test(l)).length, 1, r.stderr);
  assert.match(r.stderr, /not complete status="waiting for 1 of 1 objects: s: not written yet"/);
});
