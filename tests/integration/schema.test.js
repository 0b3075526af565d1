'use strict';
// config/schema.json stays true to the parser: every example and every
// valid golden config validates; the golden configs akvd rejects for
// reasons a schema can express are rejected by the schema too.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const Ajv2020 = require('ajv/dist/2020');
const { ROOT } = require('./lib/akvd');

const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'config', 'schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
const golden = path.join(ROOT, 'tests', 'config');
const read = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));

test('examples and valid golden configs validate against the schema', () => {
  const files = fs.readdirSync(path.join(ROOT, 'config'))
    .filter((f) => f.endsWith('.json') && f !== 'schema.json').map((f) => path.join(ROOT, 'config', f));
  for (const f of fs.readdirSync(golden).filter((x) => x.endsWith('.out'))) {
    if (fs.readFileSync(path.join(golden, f), 'utf8').startsWith('{')) {
      files.push(path.join(golden, f.replace(/\.out$/, '.json')));
    }
  }
  assert.ok(files.length >= 7);
  for (const f of files) {
    assert.ok(validate(read(f)), `${f}: ${JSON.stringify(validate.errors)}`);
  }
});

test('configs akvd rejects are rejected by the schema', () => {
  for (const name of ['aliases', 'bad-objects', 'bad-vaults', 'empty-objects', 'missing-required',
    'short-interval', 'unknown-keys', 'wrong-types', 'not-object', 'bad-durations', 'bad-method',
    'cloud-bad', 'mi-conflict', 'blob-bad', 'bad-listen', 'bad-listen-port', 'bad-listen-v6',
    'bad-listen-type', 'bad-listen-noport', 'bad-listen-brackets', 'bad-notify-http', 'bad-notify-userinfo',
    'object-kinds-bad', 'select-bad', 'select-empty', 'bundles-bad',
    'templates-bad-syntax', 'templates-bad-ref']) {
    assert.equal(validate(read(path.join(golden, `${name}.json`))), false, name);
  }
  // Each alias error of aliases.json on its own.
  for (const alias of ['../etc/passwd', '/etc/passwd', '..data', 'a//b', './a', '', 'a/', 'a\\b']) {
    const cfg = { output_dir: '/out', vault: 'v12', objects: [{ name: 'a', alias }] };
    assert.equal(validate(cfg), false, JSON.stringify(alias));
  }
  for (const alias of ['password', 'db/user', 'tls/.hidden', 'a.b..c']) {
    const cfg = { output_dir: '/out', vault: 'v12', objects: [{ name: 'a', alias }] };
    assert.ok(validate(cfg), JSON.stringify(alias));
  }
});

test('blob objects: the schema accepts what akvd accepts and refuses what it refuses', () => {
  const obj = (o) => ({ output_dir: '/out', objects: [{ type: 'blob', ...o }] });
  const url = 'https://acct.blob.core.windows.net/c1c/dir/b.txt';
  for (const o of [{ url }, { url, max_size: '16MiB' }, { url, max_size: 1 }, { url, alias: 'x/y', mode: '0400' },
    { url: 'https://127.0.0.1:10000/devstoreaccount1/c1c/b' }]) {
    assert.ok(validate(obj(o)), `${JSON.stringify(o)}: ${JSON.stringify(validate.errors)}`);
  }
  for (const o of [{}, { url: 'http://acct.blob.core.windows.net/c1c/b' }, { url, name: 'n' }, { url, vault: 'v12' },
    { url, version: 'abc' }, { url, max_size: 0 }, { url, max_size: '1TB' }, { url: `${url}?sig=x` },
    { url: 'https://acct.blob.core.windows.net/c1c/' }, { url, colour: 'blue' }]) {
    assert.equal(validate(obj(o)), false, JSON.stringify(o));
  }
  // url and max_size belong to blobs only.
  assert.equal(validate({ output_dir: '/out', vault: 'v12', objects: [{ name: 'a', url }] }), false);
  assert.equal(validate({ output_dir: '/out', vault: 'v12', objects: [{ name: 'a', max_size: 5 }] }), false);
});
