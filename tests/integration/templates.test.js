'use strict';
// Templates wired into the daemon: files rendered from the objects held, in
// the same snapshot as every other file; hostile values read back by the
// consumers' own parsers; a source file edited while running is rendered
// again without a request to Key Vault; a template that cannot be rendered
// keeps its file while the others go on; --check errors at line:column.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');
const { setup } = require('./lib/setup');
const { runAkvd, until, tryRead, readOut } = require('./lib/akvd');

// Every character a password field breaks on.
const HOSTILE = "p@ss:w/o'rd\"$HOME`id`\\ back\\slash #?&=%+ é \u{1F511}\nline2";

// One .pgpass line read as libpq does: fields split at unescaped ':',
// "\x" is x.
function pgpassFields(line) {
  const fields = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\' && i + 1 < line.length) cur += line[++i];
    else if (line[i] === ':') { fields.push(cur); cur = ''; } else cur += line[i];
  }
  fields.push(cur);
  return fields;
}

// The files of the snapshot in force, read through one ..data link.
function snapshot(out, names) {
  const snap = path.join(out, fs.readlinkSync(path.join(out, '..data')));
  return Object.fromEntries(names.map((n) => [n, fs.readFileSync(path.join(snap, n), 'utf8')]));
}

test('a hostile password read back from a PostgreSQL URL, .pgpass, JSON and YAML; "file": false writes no file', async (t) => {
  const fx = await setup(t);
  fx.set('db-password', HOSTILE);
  fx.set('api-key', 'k1');
  const cfg = fx.config([
    { name: 'db-password', file: false },
    { name: 'api-key' },
  ], {
    templates: [
      { path: 'db.env', mode: '0400',
        contents: 'DATABASE_URL=postgresql://app:{{ db-password | url }}@db.internal:5432/app?sslmode=require\n' },
      { path: 'pg/.pgpass', mode: '0600', contents: 'db.internal:5432:app:app:{{ db-password | pgpass }}\n' },
      { path: 'appsettings.json',
        contents: '{\n  "ConnectionStrings": { "Default": "Host=db;Password={{ db-password | json }}" },\n  "ApiKey": "{{ api-key | json }}"\n}\n' },
      { path: 'app.yaml',
        contents: 'database:\n  password: "{{ db-password | yaml }}"\n  version: "{{ db-password.version }}"\n' },
    ],
  });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);

  const url = new URL(readOut(fx.out, 'db.env').trim().replace(/^DATABASE_URL=/, ''));
  assert.equal(decodeURIComponent(url.password), HOSTILE);
  assert.equal(url.username, 'app');
  assert.equal(url.host, 'db.internal:5432');
  assert.equal(fs.statSync(path.join(fx.out, 'db.env')).mode & 0o777, 0o400);

  // .pgpass cannot hold the newline: an error of that template alone,
  // named by path and tag; it has no previous file to keep.
  await a.waitLog(/template not written: keeping the previous one.*template=pg\/\.pgpass.*1:26: \{\{ db-password \| pgpass \}\}/);
  assert.equal(fs.existsSync(path.join(fx.out, 'pg/.pgpass')), false);

  const json = JSON.parse(readOut(fx.out, 'appsettings.json'));
  assert.equal(json.ConnectionStrings.Default, `Host=db;Password=${HOSTILE}`);
  assert.equal(json.ApiKey, 'k1');
  const y = YAML.parse(readOut(fx.out, 'app.yaml'));
  assert.equal(y.database.password, HOSTILE);
  assert.match(y.database.version, /^[0-9a-f]{32}$/);

  // "file": false: fetched for the templates, no file of its own.
  assert.equal(fs.existsSync(path.join(fx.out, 'db-password')), false);
  assert.equal(readOut(fx.out, 'api-key'), 'k1');
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

test('.pgpass: hostile fields read back as libpq splits them; a newline is an error of that template only', async (t) => {
  const fx = await setup(t);
  const pw = "p:a\\ss'w\"ord$ é:";
  fx.set('db-password', pw);
  const cfg = fx.config([{ name: 'db-password', file: false }], {
    templates: [
      { path: '.pgpass', mode: '0600', contents: 'db:5432:app:app:{{ db-password | pgpass }}\n' },
      { path: 'url', contents: 'postgresql://app:{{ db-password | url }}@db/app' },
    ],
  });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  const line = readOut(fx.out, '.pgpass').replace(/\n$/, '');
  assert.deepEqual(pgpassFields(line), ['db', '5432', 'app', 'app', pw]);

  fx.set('db-password', 'new\nline-pw');
  await until(() => tryRead(fx.out, 'url') === 'postgresql://app:new%0Aline-pw@db/app', { what: 'the URL updated' });
  await a.waitLog(/template not written: keeping the previous one.*template=\.pgpass.*pgpass/);
  assert.deepEqual(pgpassFields(readOut(fx.out, '.pgpass').replace(/\n$/, '')), ['db', '5432', 'app', 'app', pw]);
  assert.ok(!a.log().includes('line-pw'), 'the value is never logged');
  await a.stop();
});

test('a rotation reaches a template and the object files in one snapshot', async (t) => {
  const fx = await setup(t);
  fx.set('user', 'app');
  fx.set('db-password', 'v1');
  const cfg = fx.config([{ name: 'user' }, { name: 'db-password', alias: 'password' }], {
    templates: [{ path: 'conn', contents: '{{ user }}:{{ password | url }}' }],
  });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  assert.equal(readOut(fx.out, 'conn'), 'app:v1');
  fx.set('db-password', 'v2/rotated');
  await until(() => {
    const s = snapshot(fx.out, ['conn', 'password']);
    if (s.password !== 'v2/rotated') return false;
    assert.equal(s.conn, 'app:v2%2Frotated');
    return true;
  }, { what: 'the rotated template' });
  await a.waitLog(/template updated.*template=conn/);
  await a.stop();
});

test('a template source file edited while running is rendered again without a request to Key Vault', async (t) => {
  const fx = await setup(t);
  fx.set('db-password', 'pw1');
  const src = path.join(fx.dir, 'tmpl', 'app.properties.tmpl');
  fs.mkdirSync(path.dirname(src), { recursive: true });
  fs.writeFileSync(src, 'spring.datasource.password={{ db-password | properties }}\n');
  const cfg = fx.config([{ name: 'db-password', file: false }], {
    interval: '1h',
    templates: [{ path: 'application.properties', source: src }],
  });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  assert.equal(readOut(fx.out, 'application.properties'), 'spring.datasource.password=pw1\n');
  fx.d.kv.clearRequests();
  fs.writeFileSync(src, '# edited\nspring.datasource.password={{ db-password | properties }}\nother=1\n');
  await until(() => tryRead(fx.out, 'application.properties') ===
    '# edited\nspring.datasource.password=pw1\nother=1\n', { what: 'the edited template' });
  assert.deepEqual(fx.d.kv.requests().filter((r) => r.path.startsWith('/secrets/')), []);
  // A source that no longer parses: the reload is refused, the file stays.
  fs.writeFileSync(src, 'x={{ db-password | nosuch }}\n');
  await a.waitLog(/configuration not reloaded/);
  assert.match(a.log(), /tmpl\/app\.properties\.tmpl:1:3: unknown context \\?"nosuch/);
  assert.equal(readOut(fx.out, 'application.properties'), '# edited\nspring.datasource.password=pw1\nother=1\n');
  assert.deepEqual(fx.d.kv.requests().filter((r) => r.path.startsWith('/secrets/')), []);
  await a.stop();
});

test('a template that cannot be rendered keeps its old content; the other files update', async (t) => {
  const fx = await setup(t);
  fx.set('blob', Buffer.from('text').toString('base64'));
  fx.set('name', 'v1');
  const cfg = fx.config([
    { name: 'blob', encoding: 'base64', file: false },
    { name: 'name' },
  ], {
    templates: [
      { path: 'bad.json', contents: '{"blob": "{{ blob | json }}", "name": "{{ name | json }}"}' },
      { path: 'bad.sh', contents: 'BLOB={{ blob | sh }}\n' },
      { path: 'good', contents: 'name={{ name }}' },
      { path: 'optional', contents: '{{#missing}}{{ missing }}{{/missing}}{{^missing}}none{{/missing}}' },
    ],
  });
  cfg.objects.push({ name: 'missing', optional: true, file: false });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  assert.equal(readOut(fx.out, 'bad.json'), '{"blob": "text", "name": "v1"}');
  assert.equal(readOut(fx.out, 'bad.sh'), "BLOB='text'\n");
  assert.equal(readOut(fx.out, 'optional'), 'none');
  // Bytes that are not UTF-8 (no JSON string holds them), a NUL (no shell
  // word does).
  fx.set('blob', Buffer.from([0x61, 0x00, 0xff]).toString('base64'));
  fx.set('name', 'v2');
  await until(() => tryRead(fx.out, 'name') === 'v2' && tryRead(fx.out, 'good') === 'name=v2',
    { what: 'the other files' });
  await a.waitLog(/template not written: keeping the previous one.*template=bad\.json.*1:11: \{\{ blob \| json \}\}/);
  await a.waitLog(/template not written: keeping the previous one.*template=bad\.sh.*1:6/);
  assert.equal(readOut(fx.out, 'bad.json'), '{"blob": "text", "name": "v1"}');
  assert.equal(readOut(fx.out, 'bad.sh'), "BLOB='text'\n");
  await a.stop();
});

test('--check: template errors at line:column, unknown objects, and the objects each template uses', async (t) => {
  const fx = await setup(t);
  const src = path.join(fx.dir, 'bad.tmpl');
  fs.writeFileSync(src, 'ok\n  {{#db}}\n{{ db.nonsense }}\n{{/db}}\n');
  const bad = fx.config([{ name: 'db-password', alias: 'db' }, { name: 'api-key' }], {
    templates: [
      { path: 'a', contents: 'line one\nx={{ api-key }} y={{ nosuch | url }}\n' },
      { path: 'b', contents: '{{#api-key}}never closed' },
      { path: 'c', source: src },
      { path: 'api-key', contents: 'clash' },
    ],
  });
  const r = await runAkvd(['--check', '-c', fx.write(bad)]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /templates\[0\]\.contents:2:19: unknown object "nosuch"/);
  assert.match(r.stderr, /templates\[1\]\.contents:1:1: section "api-key" is not closed/);
  assert.match(r.stderr, new RegExp(`templates\\[2\\]\\.source: ${src.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:1: unknown field`));
  assert.match(r.stderr, /templates\[3\]\.path: "api-key" clashes with "api-key" of objects\[1\]/);

  const good = fx.config([{ name: 'db-password', alias: 'db', file: false }, { name: 'api-key' }], {
    templates: [{ path: 'conn', contents: '{{ api-key }} {{#db}}{{ value | url }}{{/db}} {{ db.version }}' }],
  });
  const ok = await runAkvd(['--check', '-c', fx.write(good)]);
  assert.equal(ok.code, 0, ok.stderr);
  const printed = JSON.parse(ok.stdout);
  assert.deepEqual(printed.templates[0].objects, ['api-key', 'db']);
  assert.equal(printed.objects[0].file, false);
});

test('certificates: key, leaf and chain as separate PEM parts; a cert object has none', async (t) => {
  const crypto = require('node:crypto');
  const { makeChain } = require('../fakes/pki');
  const fx = await setup(t);
  const chain = makeChain(path.join(fx.dir, 'pki'), { order: ['root', 'leaf', 'inter'] });
  fx.d.kv.setCertificate('web-tls', { leafPem: chain.pem.leaf, pfx: chain.pfx });
  fx.secrets.add(chain.key.trim().split('\n')[5]);
  const cfg = fx.config([
    { name: 'web-tls', alias: 'tls', file: false },
    { name: 'web-tls', alias: 'tls-cer', type: 'cert', file: false },
  ], {
    templates: [
      { path: 'fullchain.pem', contents: '{{ tls.leaf }}{{ tls.chain }}' },
      { path: 'tls.key', mode: '0400', contents: '{{ tls.key }}' },
      { path: 'cer-parts', contents: '{{#tls-cer.key}}has a key{{/tls-cer.key}}{{^tls-cer.key}}no key{{/tls-cer.key}}' },
    ],
  });
  const a = fx.start(fx.write(cfg), ['--once']);
  await a.exited;
  assert.equal(a.code, 0, a.log());
  const full = readOut(fx.out, 'fullchain.pem');
  const certs = (full.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) || [])
    .map((p) => new crypto.X509Certificate(p).subject.replace(/^CN=/, ''));
  assert.deepEqual(certs, ['app.example.com', 'akvd test intermediate', 'akvd test root']);
  const key = readOut(fx.out, 'tls.key');
  assert.match(key, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+-----END PRIVATE KEY-----\n$/);
  assert.equal(crypto.createPublicKey(key).export({ type: 'spki', format: 'pem' }),
    new crypto.X509Certificate(chain.pem.leaf).publicKey.export({ type: 'spki', format: 'pem' }));
  assert.equal(readOut(fx.out, 'cer-parts'), 'no key');
  fx.assertNoSecretsLogged(a);
});

test('psql connects with the rendered URL and the rendered .pgpass (hostile password)', async (t) => {
  const { spawnSync } = require('node:child_process');
  const { pgBin, startServer } = require('./lib/pg');
  const bin = pgBin();
  if (!bin) {
    t.skip('PostgreSQL is not installed (scripts/install-deps.sh installs it)');
    return;
  }
  const srv = await startServer(t, bin);
  // Every character a URL or a .pgpass line breaks on (no newline: no
  // .pgpass field holds one).
  const pw = "p@ss:w/o'rd\"$HOME`id`\\ back\\slash #?&=%+;-- é \u{1F511}";
  const create = spawnSync(path.join(bin, 'psql'), ['-X', '-v', 'ON_ERROR_STOP=1', '-c',
    `CREATE ROLE app LOGIN PASSWORD $akvd$${pw}$akvd$`], { encoding: 'utf8', env: srv.env });
  assert.equal(create.status, 0, create.stderr);

  const fx = await setup(t);
  fx.set('pg-password', pw);
  const cfg = fx.config([{ name: 'pg-password', file: false }], {
    templates: [
      { path: 'db.url', contents: `postgresql://app:{{ pg-password | url }}@127.0.0.1:${srv.port}/postgres` },
      { path: 'pgpass', mode: '0600', contents: `127.0.0.1:${srv.port}:postgres:app:{{ pg-password | pgpass }}\n` },
    ],
  });
  const a = fx.start(fx.write(cfg), ['--once']);
  await a.exited;
  assert.equal(a.code, 0, a.log());
  const env = { PATH: srv.env.PATH, PGCONNECT_TIMEOUT: '10' };
  const byUrl = spawnSync(path.join(bin, 'psql'), ['-X', '-w', '-tAc', 'SELECT current_user',
    readOut(fx.out, 'db.url')], { encoding: 'utf8', env });
  assert.equal(byUrl.status, 0, byUrl.stderr);
  assert.equal(byUrl.stdout.trim(), 'app');
  const byPgpass = spawnSync(path.join(bin, 'psql'), ['-X', '-w', '-h', '127.0.0.1', '-p', String(srv.port),
    '-U', 'app', '-d', 'postgres', '-tAc', 'SELECT current_user'],
  { encoding: 'utf8', env: { ...env, PGPASSFILE: path.join(fx.out, 'pgpass') } });
  assert.equal(byPgpass.status, 0, byPgpass.stderr);
  assert.equal(byPgpass.stdout.trim(), 'app');
  // A wrong password is refused: the connections above used the file.
  const wrong = spawnSync(path.join(bin, 'psql'), ['-X', '-w', '-tAc', 'SELECT 1',
    `postgresql://app:wrong@127.0.0.1:${srv.port}/postgres`], { encoding: 'utf8', env });
  assert.notEqual(wrong.status, 0);
});

test('metadata: a secret\'s tags and updated time, as Key Vault returned them', async (t) => {
  const fx = await setup(t);
  fx.d.kv.setSecret('db-password', 'pw', { tags: { env: 'prod', 'team.owner': 'payments', 'note': 'a "quoted" value' } });
  fx.d.kv.setSecret('plain', 'p');
  const cfg = fx.config([{ name: 'db-password' }, { name: 'plain' }], {
    templates: [{ path: 'meta.json',
      contents: '{"env":"{{ db-password.tags.env | json }}","owner":"{{ db-password.tags.team.owner | json }}",' +
        '"note":"{{ db-password.tags.note | json }}","updated":"{{ db-password.updated }}",' +
        '"plain_env":"{{#plain.tags.env}}set{{/plain.tags.env}}{{^plain.tags.env}}none{{/plain.tags.env}}"}\n' }],
  });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  const m = JSON.parse(readOut(fx.out, 'meta.json'));
  assert.equal(m.env, 'prod');
  assert.equal(m.owner, 'payments');
  assert.equal(m.note, 'a "quoted" value');
  assert.equal(m.plain_env, 'none');
  // RFC 3339 UTC, the version's attributes.updated (set as it was made).
  assert.match(m.updated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const age = Date.now() / 1000 - Date.parse(m.updated) / 1000;
  assert.ok(age >= 0 && age < 120, `updated ${m.updated} is the version's time`);
  await a.stop();
});
