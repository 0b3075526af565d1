'use strict';
// Bundles: several objects in one file, JSON ("--" nests, as ASP.NET
// Core's Key Vault provider) or dotenv (read back exactly by POSIX sh),
// written in the same atomic snapshot as the objects; hostile values.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { setup } = require('./lib/setup');
const { until, tryRead, readOut } = require('./lib/akvd');

const HOSTILE = {
  'db-password': "it's a \"quoted\" $HOME `id` $(touch /tmp/akvd-pwned) \\n \\\\ back\\slash",
  'multi-line': 'line one\nline two\n\n  indented\ttab\n',
  'only-quote': "'",
  'unicode': 'é ü 中文 \u{1F511}',
  'trailing-backslash': 'ends with \\',
  'empty': '',
};

// What POSIX sh (dash; or ${shell}) sees after `set -a; . ./FILE`.
function shRead(file, names, shell = 'sh') {
  const out = execFileSync(shell, ['-c',
    'set -a; . "$1"; exec "$2" -e "process.stdout.write(JSON.stringify(process.env))"',
    'sh', file, process.execPath], { env: { PATH: process.env.PATH } });
  const env = JSON.parse(out.toString());
  return Object.fromEntries(names.map((n) => [n, env[n]]));
}

test('dotenv: hostile values read back exactly by sh; JSON: "--" nesting read back by JSON.parse', async (t) => {
  const fx = await setup(t);
  for (const [k, v] of Object.entries(HOSTILE)) fx.set(k, v);
  fx.set('Identity--ClientSecret', 'cs-value "x"');
  fx.set('Identity--Authority--Url', 'https://login.example/');
  fx.set('ConnectionStrings--Db', 'Server=db;Password=p@ss\\w0rd;');
  const cfg = fx.config([{ name: 'db-password', alias: 'password' }], {
    bundles: [
      { path: 'app.env', format: 'dotenv', mode: '0400',
        objects: Object.keys(HOSTILE).map((name) => ({ name })) },
      { path: 'config/appsettings.secrets.json', format: 'json', objects: [
        { name: 'Identity--ClientSecret' },
        { name: 'Identity--Authority--Url' },
        { name: 'ConnectionStrings--Db' },
        { name: 'db-password', alias: 'Db--Password' },
        { name: 'multi-line', alias: 'Text' },
        { name: 'unicode', alias: 'Text2' },
      ] },
    ],
  });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  const env = path.join(fx.out, 'app.env');
  assert.equal(fs.statSync(env).mode & 0o777, 0o400);
  const names = Object.keys(HOSTILE).map((k) => k.toUpperCase().replace(/-/g, '_'));
  for (const shell of ['sh', 'bash']) {
    assert.deepEqual(shRead(env, names, shell),
      Object.fromEntries(Object.entries(HOSTILE).map(([k, v]) => [k.toUpperCase().replace(/-/g, '_'), v])), shell);
  }
  assert.equal(fs.existsSync('/tmp/akvd-pwned'), false);
  // One NAME='...' per variable; a quote is closed, escaped and reopened.
  assert.match(readOut(fx.out, 'app.env'), /^ONLY_QUOTE=''\\'''$/m);

  const json = JSON.parse(readOut(fx.out, 'config/appsettings.secrets.json'));
  assert.deepEqual(json, {
    ConnectionStrings: { Db: 'Server=db;Password=p@ss\\w0rd;' },
    Db: { Password: HOSTILE['db-password'] },
    Identity: { Authority: { Url: 'https://login.example/' }, ClientSecret: 'cs-value "x"' },
    Text: HOSTILE['multi-line'],
    Text2: HOSTILE.unicode,
  });
  // Members have no file of their own; the standalone object does.
  assert.equal(readOut(fx.out, 'password'), HOSTILE['db-password']);
  assert.equal(fs.existsSync(path.join(fx.out, 'Identity--ClientSecret')), false);

  // A rotation reaches the bundles and the object in one snapshot.
  fx.set('db-password', "rotated 'again'");
  await until(() => {
    const snap = path.join(fx.out, fs.readlinkSync(path.join(fx.out, '..data')));
    const j = JSON.parse(fs.readFileSync(path.join(snap, 'config/appsettings.secrets.json'), 'utf8'));
    if (j.Db.Password !== "rotated 'again'") return false;
    assert.equal(fs.readFileSync(path.join(snap, 'password'), 'utf8'), "rotated 'again'");
    assert.equal(shRead(path.join(snap, 'app.env'), ['DB_PASSWORD']).DB_PASSWORD, "rotated 'again'");
    return true;
  }, { what: 'the rotated bundle' });
  await a.waitLog(/bundle updated.*bundle=app.env/);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('a value a bundle cannot hold is an error of that bundle; the previous file stays', async (t) => {
  const fx = await setup(t);
  fx.set('blob', Buffer.from('text').toString('base64'));
  fx.set('name', 'v1');
  const cfg = fx.config([{ name: 'name', alias: 'plain' }], {
    bundles: [
      { path: 'b.env', format: 'dotenv', objects: [{ name: 'blob', encoding: 'base64' }, { name: 'name' }] },
      { path: 'b.json', objects: [{ name: 'blob', encoding: 'base64' }, { name: 'name' }] },
    ],
  });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  assert.equal(readOut(fx.out, 'b.env'), "BLOB='text'\nNAME='v1'\n");
  assert.deepEqual(JSON.parse(readOut(fx.out, 'b.json')), { blob: 'text', name: 'v1' });
  // A NUL byte (no shell variable holds one) and bytes that are not UTF-8.
  fx.set('blob', Buffer.from([0x61, 0x00, 0xff]).toString('base64'));
  fx.set('name', 'v2');
  await until(() => tryRead(fx.out, 'plain') === 'v2', { what: 'the other object' });
  await a.waitLog(/bundle not written: keeping the previous one.*bundle=b.env.*"blob\\" holds a NUL byte/);
  await a.waitLog(/bundle not written: keeping the previous one.*bundle=b.json.*"blob\\" is not UTF-8/);
  assert.equal(readOut(fx.out, 'b.env'), "BLOB='text'\nNAME='v1'\n");
  assert.deepEqual(JSON.parse(readOut(fx.out, 'b.json')), { blob: 'text', name: 'v1' });
  await a.stop();
});

test('SIGHUP: a bundle changing format is made again from the values held, without a GET', async (t) => {
  const fx = await setup(t);
  fx.set('api-key', 'k1');
  fx.set('db-password', 'p1');
  const bundle = (format) => fx.config([], { interval: '1h', bundles: [
    { path: 'settings', format, objects: [{ name: 'api-key' }, { name: 'db-password' }] }] });
  const cfgPath = fx.write(bundle('json'));
  const a = fx.start(cfgPath);
  await a.waitLog(/snapshot written/);
  assert.deepEqual(JSON.parse(readOut(fx.out, 'settings')), { 'api-key': 'k1', 'db-password': 'p1' });
  fx.write(bundle('dotenv'));
  fx.d.kv.clearRequests();
  a.kill('SIGHUP');
  await until(() => tryRead(fx.out, 'settings') === "API_KEY='k1'\nDB_PASSWORD='p1'\n", { what: 'the dotenv bundle' });
  assert.deepEqual(fx.d.kv.requests().filter((r) => r.path.startsWith('/secrets/')), []);
  await a.stop();
});
