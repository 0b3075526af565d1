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

test('--once retries transient failures, then gives up with exit 1', async (t) => {
  const fx = await setup(t);
  fx.set('flaky', 'flaky-value');
  fx.d.kv.fault({ match: '/secrets/flaky', status: 503, times: 1 });
  let r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'flaky' }]))]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(tryRead(fx.out, 'flaky'), 'flaky-value');
  fx.d.kv.fault({ match: '/secrets/flaky', status: 503 });
  r = await runAkvd(['--once', '-c', fx.write(fx.config([{ name: 'flaky' }]))]);
  assert.equal(r.code, 1, r.stderr);
  // The earlier file is not lost.
  assert.equal(tryRead(fx.out, 'flaky'), 'flaky-value');
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
      /vault: must be an https URL or a vault name/],
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
