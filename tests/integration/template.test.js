'use strict';
// The template engine (src/template.c) through build/test/tmpl_render:
//
// - a differential test of the syntax against mustache.js 4 (the
//   reference implementation, HTML escaping off): the same templates and
//   data render to the same bytes, and the templates mustache.js rejects
//   akvd rejects too;
// - round trips of hostile values through the consumers of each escaping
//   context: JSON.parse, a YAML parser, sh, XML parsers (fast-xml-parser,
//   and the JDK's when java is installed), java.util.Properties (a reader
//   following its grammar, and the JDK's when installed), URL decoding, a
//   .pgpass reader following libpq's rules;
// - values a context cannot hold are errors naming the tag, never the
//   value.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const Mustache = require('mustache');
const YAML = require('yaml');
const { XMLParser } = require('fast-xml-parser');
const { ROOT, tmpdir } = require('./lib/akvd');

const HELPER = path.join(ROOT, 'build', 'test', 'tmpl_render');

// Render cases with akvd's engine: [{ ok, out (Buffer), refs } | { ok: false, error }].
function akvd(cases) {
  const r = spawnSync(HELPER, [], { input: JSON.stringify(cases), maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `tmpl_render: ${r.stderr}`);
  return JSON.parse(r.stdout).map((x) => (x.ok ? { ...x, out: Buffer.from(x.out_b64, 'base64') } : x));
}

// The data model as mustache.js sees it: every field present (null when
// unset), "updated" as akvd prints it.
function view(data) {
  const v = {};
  for (const [name, o] of Object.entries(data)) {
    v[name] = {
      value: o.value ?? '',
      version: o.version ?? null,
      content_type: o.content_type ?? null,
      updated: o.updated === undefined ? null : new Date(o.updated * 1000).toISOString().replace('.000Z', 'Z'),
      tags: o.tags ?? {},
      key: o.key ?? null,
      leaf: o.leaf ?? null,
      chain: o.chain ?? null,
    };
  }
  return v;
}

const DATA = {
  a: { value: 'A & <b> "q" \'s\' {{x}}', version: 'v1', content_type: 'text/plain', updated: 1700000000, tags: { env: 'prod', empty: '' } },
  b: { value: 'B\nline2\n', version: 'v2' },
  e: { value: '', version: '' },
  u: { value: 'ünï 😀', version: 'v3', content_type: null },
};

const CORPUS = [
  // Values, no escaping anywhere.
  'plain text, no tags: ünï 😀 { } }} {',
  '{{a.value}}|{{{a.value}}}|{{&a.value}}|{{ a.value }}|{{&  a.value}}|{{{ a.value }}}',
  '{{a.version}} {{a.content_type}} {{a.updated}} {{a.tags.env}} [{{a.tags.empty}}]',
  '[{{nope.value}}][{{nope.version}}][{{a.tags.nope}}][{{u.content_type}}][{{a.key}}]',
  '{{b.value}}{{b.value}}',
  // Sections, inverted sections, nesting.
  '{{#a}}yes{{/a}}{{^a}}no{{/a}} {{#nope}}yes{{/nope}}{{^nope}}no{{/nope}}',
  '{{ #a }}spaced{{ /a }}{{# a}}x{{/a}}',
  '{{#e.value}}nonempty{{/e.value}}{{^e.value}}empty{{/e.value}} {{#e.version}}v{{/e.version}}{{^e.version}}no v{{/e.version}}',
  '{{#a.version}}[{{.}}]{{/a.version}} {{#a.tags.env}}env={{.}}{{/a.tags.env}}{{^a.tags.nope}}no tag{{/a.tags.nope}}',
  '{{#a}}{{version}} {{content_type}} {{value}} {{tags.env}} {{b.version}}{{/a}}',
  '{{#a}}{{#b}}{{value}}-{{version}}-{{a.version}}{{/b}}{{/a}}',
  '{{#a}}{{#a}}{{#a}}deep {{version}}{{/a}}{{/a}}{{/a}}',
  '{{#a}}{{^content_type}}no ct{{/content_type}}{{#content_type}}ct={{.}}{{/content_type}}{{/a}}',
  '{{#u}}{{^content_type}}no ct{{/content_type}}{{/u}}',
  '{{#a.version}}{{#b.version}}{{.}}{{/b.version}}{{.}}{{/a.version}}',
  '{{#a}}{{#value}}<{{.}}>{{/value}}{{/a}}',
  '{{#nope}}{{#a}}never{{/a}}{{/nope}}{{^nope}}{{#a}}{{version}}{{/a}}{{/nope}}',
  // Comments.
  'a{{! a comment }}b{{!}}c{{! with } and { inside }}d',
  'a{{!\nmulti\nline\n}}b',
  // Standalone lines.
  'a\n{{#a}}\nb\n{{/a}}\nc\n',
  'a\n  {{#a}}  \n  b\n  {{/a}}\t\nc\n',
  'a\r\n{{#a}}\r\nb\r\n{{/a}}\r\nc\r\n',
  '{{#a}}\nfirst line\n{{/a}}',
  'x\n  {{^a}}\n  {{/a}}',
  'x\n{{#a}}{{/a}}\ny\n',
  'x\n  {{#a}} {{/a}} \ny\n',
  'x\n  {{! comment }}\ny\n',
  'x\n  {{! multi\nline\ncomment }}  \ny\n',
  'x\n  {{a.version}}\ny\n',
  'x\n  {{#a}}text{{/a}}\ny\n',
  'text {{#a}}\n{{/a}} text\n',
  '  {{#a}}\n\t{{a.version}}\n  {{/a}}\n',
  '\n\n{{#nope}}\n\n{{/nope}}\n\n',
  '',
  '   \n \t\n',
  '{{#a}}\n{{#b}}\n{{value}}\n{{/b}}\n{{/a}}\n',
  // Set delimiters.
  '{{=<% %>=}}<% a.version %> {{a.version}} <%={{ }}=%>{{a.version}}',
  '{{=[ ]=}}[a.version] [#a]in[/a] [{a.value}] [&a.version]',
  'x\n  {{=<% %>=}}  \n<%a.version%>\n<%={{ }}=%>\n{{a.version}}\n',
  '{{= | | =}}|a.version| |#a|y|/a|',
  '{{=<< >>=}}<<! comment >><<^nope>>none<</nope>>',
  // Values that look like tags are not parsed again.
  '{{a.value}} {{#a}}{{value}}{{/a}}',
];

// Templates both must reject.
const BAD = [
  '{{#a}}never closed',
  'closes nothing {{/a}}',
  '{{#a}}x{{/b}}',
  '{{#a}}{{#b}}x{{/a}}{{/b}}',
  'unclosed {{a.value',
  'unclosed {{{a.value}}',
  '{{=<%=}}',
];

test('the syntax renders as mustache.js 4 renders it (HTML escaping off)', () => {
  const res = akvd(CORPUS.map((template) => ({ template, data: DATA })));
  const v = view(DATA);
  CORPUS.forEach((template, i) => {
    const want = Mustache.render(template, v, {}, { escape: (s) => s });
    assert.ok(res[i].ok, `${JSON.stringify(template)}: ${res[i].error}`);
    assert.equal(res[i].out.toString('utf8'), want, `template ${JSON.stringify(template)}`);
  });
});

test('templates mustache.js rejects are syntax errors with a position', () => {
  const res = akvd(BAD.map((template) => ({ template, data: DATA })));
  BAD.forEach((template, i) => {
    assert.throws(() => Mustache.render(template, {}, {}, { escape: (s) => s }), undefined, template);
    assert.equal(res[i].ok, false, template);
    assert.match(res[i].error, /^\d+:\d+: /, template);
  });
});

test('syntax errors name line and column', () => {
  const cases = [
    ['a\nb {{#x}}\nc', '2:3: section "x" is not closed'],
    ['{{#x}}\n\n  {{/y}}', '3:3: {{/y}} closes section "x" opened at 1:1'],
    ['ok\n   {{> partial}}', '2:4: partials ({{>name}}) are not supported'],
    ['{{x.valeu}}', '1:1: unknown field in "x.valeu"'],
    ['{{x.value | uri}}', '1:1: unknown context "uri"'],
    ['{{#x | url}}{{/x}}', '1:1: a section takes no context'],
    ['\n\n\t{{x.value', '3:2: unclosed tag'],
    ['{{.}}', '1:1: {{.}} outside a section'],
    ['{{x.tags}}', '1:1: unknown field in "x.tags"'],
  ];
  const res = akvd(cases.map(([template]) => ({ template, data: {} })));
  cases.forEach(([template, want], i) => {
    assert.equal(res[i].ok, false, template);
    assert.ok(res[i].error.startsWith(want), `${template}: ${res[i].error}`);
  });
});

test('references: each object once, in order of first use, fields of sections excluded', () => {
  const res = akvd([
    { template: '{{b.value}} {{#a}}{{value}}{{version}}{{c.value}}{{/a}} {{^d}}{{/d}} {{b.version}} {{#e.tags.x}}{{.}}{{/e.tags.x}}', data: {} },
    { template: 'no tags at all', data: {} },
  ]);
  assert.deepEqual(res[0].refs, ['b', 'a', 'c', 'd', 'e']);
  assert.deepEqual(res[1].refs, []);
});

// ------------------------------------------------------------------------
// Escaping contexts: round trips through the consumers.

const KIB10 = Array.from({ length: 10240 }, (_, i) => String.fromCharCode(0x21 + ((i * 7919) % 94))).join('');
const HOSTILE = [
  'p@ss:w/rd', "it's", '"quoted"', '$HOME `id` $(id) ${x}', 'back\\slash\\', 'new\nline', 'cr\r\nlf', 'tab\there',
  'ünïcödé ✓ 😀 𝄞', '', ' leading and trailing ', '#!=: key-ish = x', '%41%2F', '&amp;<b>]]>--', '\u2028\u2029\u0085\u00a0',
  '\u0001\u001b\u007f', '\ufeffbom', 'multi\nline\nvalue\n', '\\u0041', '---\n- a: b', '?:,[]{}&*!|>\'"%@`', KIB10,
];
// Bytes that are not UTF-8 (for the byte-oriented contexts), and NUL.
const BINARY = [Buffer.from([0x01, 0xff, 0x80, 0x27, 0x0a]), Buffer.from([0xc3]), Buffer.alloc(0)];
const NUL = Buffer.from('nul\u0000inside');

function render(template, value) {
  const data = { x: { value_b64: Buffer.from(value).toString('base64') } };
  return { template, data, strict: true };
}

function renderAll(template, values) {
  const res = akvd(values.map((v) => render(template, v)));
  res.forEach((r, i) => assert.ok(r.ok, `${JSON.stringify(values[i]).slice(0, 60)}: ${r.error}`));
  return res.map((r) => r.out);
}

test('json: JSON.parse gives back the value', () => {
  const values = [...HOSTILE, NUL.toString()];
  const outs = renderAll('{"v": "{{ x.value | json }}"}', values);
  outs.forEach((o, i) => assert.equal(JSON.parse(o.toString('utf8')).v, values[i]));
});

test('yaml: a YAML parser gives back the value', () => {
  const outs = renderAll('v: "{{ x.value | yaml }}"\nw: ["{{x.value|yaml}}"]\n', HOSTILE);
  outs.forEach((o, i) => {
    const doc = YAML.parse(o.toString('utf8'), { strict: true, uniqueKeys: true });
    assert.equal(doc.v, HOSTILE[i]);
    assert.equal(doc.w[0], HOSTILE[i]);
  });
});

test('sh: sh gives back the bytes', () => {
  const values = [...HOSTILE, ...BINARY];
  const outs = renderAll('printf %s {{ x.value | sh }}', values);
  const dir = tmpdir('akvd-tmpl-');
  try {
    outs.forEach((o, i) => {
      // A file, not -c: an argument cannot carry bytes that are not UTF-8.
      fs.writeFileSync(path.join(dir, 'script'), o);
      const r = spawnSync('sh', [path.join(dir, 'script')]);
      assert.equal(r.status, 0, r.stderr.toString());
      assert.deepEqual(r.stdout, Buffer.from(values[i]));
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const XMLT = '<?xml version="1.0" encoding="UTF-8"?>\n<r a="{{x.value|xml}}" b=\'{{x.value|xml}}\'>{{x.value|xml}}</r>\n';
const XML_OK = HOSTILE.filter((v) => !/[\u0001-\u0008\u000b\u000c\u000e-\u001f]/.test(v));

test('xml: XML parsers give back the value in text and attributes', () => {
  const outs = renderAll(XMLT, XML_OK);
  const p = new XMLParser({
    ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, parseAttributeValue: false,
    trimValues: false, processEntities: true, htmlEntities: true,
  });
  outs.forEach((o, i) => {
    const r = p.parse(o.toString('utf8')).r;
    const text = typeof r === 'string' ? r : (r['#text'] ?? '');
    assert.equal(text, XML_OK[i]);
    assert.equal(r['@a'] ?? '', XML_OK[i]);
    assert.equal(r['@b'] ?? '', XML_OK[i]);
  });
});

function hasJava() {
  return spawnSync('java', ['-version']).status === 0;
}

function java(mode, outs) {
  const dir = tmpdir('akvd-tmpl-');
  try {
    const files = outs.map((o, i) => {
      const f = path.join(dir, `${i}.${mode}`);
      fs.writeFileSync(f, o);
      return f;
    });
    const r = spawnSync('java', [path.join(__dirname, 'lib', 'Consumers.java'), mode, ...files], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('xml: the JDK\'s parser gives back the value', { skip: !hasJava() && 'java is not installed' }, () => {
  const lines = java('xml', renderAll(XMLT, XML_OK));
  lines.forEach((l, i) => {
    const b = Buffer.from(XML_OK[i]).toString('base64');
    assert.equal(l, `${b} ${b} ${b}`, JSON.stringify(XML_OK[i]).slice(0, 60));
  });
});

// java.util.Properties.load's grammar, for the line "v=...".
function propertiesValue(text) {
  // Logical lines: a line ending in an odd number of backslashes goes on.
  const natural = text.split(/\r\n|\r|\n/);
  let logical = null;
  const lines = [];
  for (const raw of natural) {
    const l = logical === null ? raw.replace(/^[ \t\f]+/, '') : raw.replace(/^[ \t\f]+/, '');
    if (logical === null && (l === '' || l[0] === '#' || l[0] === '!')) continue;
    const trail = l.match(/\\*$/)[0].length;
    const cur = (logical ?? '') + (trail % 2 ? l.slice(0, -1) : l);
    if (trail % 2) logical = cur;
    else { lines.push(cur); logical = null; }
  }
  if (logical !== null) lines.push(logical);
  for (const l of lines) {
    let i = 0;
    let key = '';
    while (i < l.length && !'=: \t\f'.includes(l[i])) {
      if (l[i] === '\\') i++;
      key += l[i++];
    }
    while (i < l.length && ' \t\f'.includes(l[i])) i++;
    if (i < l.length && '=:'.includes(l[i])) i++;
    while (i < l.length && ' \t\f'.includes(l[i])) i++;
    if (key !== 'v') continue;
    let v = '';
    while (i < l.length) {
      const c = l[i++];
      if (c !== '\\') { v += c; continue; }
      const d = l[i++];
      if (d === 'u') { v += String.fromCharCode(parseInt(l.slice(i, i + 4), 16)); i += 4; }
      else v += { t: '\t', n: '\n', r: '\r', f: '\f' }[d] ?? d;
    }
    return v;
  }
  return undefined;
}

test('properties: java.util.Properties\' grammar gives back the value', () => {
  const outs = renderAll('# akvd\nv={{ x.value | properties }}\nnext=1\n', HOSTILE);
  outs.forEach((o, i) => {
    assert.match(o.toString('latin1'), /^[\x09\x0a\x20-\x7e]*$/, 'ASCII only, whatever the reader\'s charset');
    assert.equal(propertiesValue(o.toString('latin1')), HOSTILE[i]);
  });
});

test('properties: the JDK gives back the value', { skip: !hasJava() && 'java is not installed' }, () => {
  const lines = java('properties', renderAll('v = {{ x.value | properties }}\n', HOSTILE));
  lines.forEach((l, i) => assert.equal(l, Buffer.from(HOSTILE[i]).toString('base64'), JSON.stringify(HOSTILE[i]).slice(0, 60)));
});

function percentDecode(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') { out.push(parseInt(s.slice(i + 1, i + 3), 16)); i += 2; } else out.push(s.charCodeAt(i));
  }
  return Buffer.from(out);
}

test('url: a URL parser sees one component, decoding gives back the bytes', () => {
  const values = [...HOSTILE, ...BINARY, NUL];
  const outs = renderAll('postgresql://app:{{ x.value | url }}@db.example:5432/{{x.value|url}}?application_name={{x.value|url}}', values);
  outs.forEach((o, i) => {
    const s = o.toString('latin1');
    assert.match(s, /^[A-Za-z0-9\-._~%:/@?=]*$/);
    const u = new URL(s);
    assert.equal(u.username, 'app');
    assert.equal(u.host, 'db.example:5432');
    assert.deepEqual(percentDecode(u.password), Buffer.from(values[i]));
    assert.deepEqual(percentDecode(u.pathname.slice(1)), Buffer.from(values[i]));
    assert.deepEqual(percentDecode(u.search.slice('?application_name='.length)), Buffer.from(values[i]));
    if (typeof values[i] === 'string') assert.equal(decodeURIComponent(u.password), values[i]);
  });
});

// libpq's reading of a password file line (fe-connect.c passwordFromFile):
// fields split at unescaped ':', a backslash takes the next byte literally.
function pgpassFields(line) {
  const fields = [''];
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\' && i + 1 < line.length) fields[fields.length - 1] += line[++i];
    else if (line[i] === ':' && fields.length < 5) fields.push('');
    else fields[fields.length - 1] += line[i];
  }
  return fields;
}

test('pgpass: libpq\'s rules give back the value', () => {
  const values = HOSTILE.filter((v) => !/[\r\n]/.test(v));
  const outs = renderAll('localhost:5432:{{x.value|pgpass}}:app:{{ x.value | pgpass }}\n', values);
  outs.forEach((o, i) => {
    const line = o.toString('utf8').replace(/\r?\n$/, '');
    assert.ok(!line.includes('\n'));
    assert.deepEqual(pgpassFields(line), ['localhost', '5432', values[i], 'app', values[i]]);
  });
});

test('base64 and hex give back the bytes; contexts chain left to right', () => {
  const values = [...HOSTILE, ...BINARY, NUL];
  const res = akvd(values.map((v) => render('{{x.value|base64}} {{x.value|hex}} {{x.value|base64|url}}', v)));
  res.forEach((r, i) => {
    const [b, h, bu] = r.out.toString('latin1').split(' ');
    assert.deepEqual(Buffer.from(b, 'base64'), Buffer.from(values[i]));
    assert.equal(b, Buffer.from(values[i]).toString('base64'));
    assert.equal(h, Buffer.from(values[i]).toString('hex'));
    assert.equal(decodeURIComponent(bu), b);
  });
});

test('values a context cannot hold are errors naming the tag, never the value', () => {
  const SECRET = 'S3CR3T';
  const cases = [
    ['{"v": "{{ x.value | json }}"}', Buffer.from(`${SECRET}\xff`, 'latin1'), '1:8: {{ x.value | json }}: the value is not UTF-8 text'],
    ['a\nv: "{{x.value|yaml}}"', Buffer.from(`${SECRET}\xc3(`, 'latin1'), '2:5: {{x.value|yaml}}: the value is not UTF-8 text'],
    ['x={{x.value|properties}}', Buffer.from(`${SECRET}\xed\xa0\x80`, 'latin1'), '1:3: {{x.value|properties}}: the value is not UTF-8 text'],
    ['<r>{{x.value|xml}}</r>', `${SECRET}\u0001`, '1:4: {{x.value|xml}}: XML 1.0 cannot hold'],
    ['<r>{{x.value|xml}}</r>', `${SECRET}\ufffe`, '1:4: {{x.value|xml}}: XML 1.0 cannot hold'],
    ['<r>{{x.value|xml}}</r>', Buffer.from(`${SECRET}\x80`, 'latin1'), '1:4: {{x.value|xml}}: the value is not UTF-8 text'],
    ['P={{ x.value | sh }}', `${SECRET}\u0000`, '1:3: {{ x.value | sh }}: a shell word cannot hold a NUL byte'],
    ['h:1:d:u:{{x.value|pgpass}}', `${SECRET}\n`, '1:9: {{x.value|pgpass}}: a .pgpass field cannot hold'],
    ['h:1:d:u:{{x.value|pgpass}}', `${SECRET}\r`, '1:9: {{x.value|pgpass}}: a .pgpass field cannot hold'],
    ['h:1:d:u:{{x.value|pgpass}}', `${SECRET}\u0000`, '1:9: {{x.value|pgpass}}: a .pgpass field cannot hold'],
    ['{{x.value|base64|json}} {{x.value|json|base64}}', Buffer.from(`${SECRET}\xff`, 'latin1'), '1:25: {{x.value|json|base64}}: the value is not UTF-8 text'],
  ];
  const res = akvd(cases.map(([t, v]) => render(t, v)));
  cases.forEach(([t, , want], i) => {
    assert.equal(res[i].ok, false, t);
    assert.ok(res[i].error.startsWith(want), `${t}: ${res[i].error}`);
    assert.ok(!res[i].error.includes(SECRET));
  });
});

test('strict rendering: a missing object, field or tag is an error; sections guard them', () => {
  const data = { x: { value: 'v', version: 'ver', tags: { t: '1' } } };
  const cases = [
    ['{{nope.value}}', '1:1: {{nope.value}}: no such object'],
    ['a {{nope}}', '1:3: {{nope}}: no such object'],
    ['{{x.content_type}}', '1:1: {{x.content_type}}: the field is not set for this object'],
    ['{{x.key}}', '1:1: {{x.key}}: the field is not set'],
    ['{{x.tags.u}}', '1:1: {{x.tags.u}}: the object has no such tag'],
    ['{{#x}}\n{{updated}}{{/x}}', '2:1: {{updated}}: the field is not set'],
  ];
  const guarded = '{{#nope}}{{nope.value}}{{/nope}}{{#x.key}}{{x.key}}{{/x.key}}{{#x.tags.u}}{{.}}{{/x.tags.u}}{{x}}={{x.tags.t}}';
  const res = akvd([...cases.map(([template]) => ({ template, data, strict: true })),
    { template: guarded, data, strict: true }, { template: cases[0][0], data }]);
  cases.forEach(([t, want], i) => {
    assert.equal(res[i].ok, false, t);
    assert.ok(res[i].error.startsWith(want), `${t}: ${res[i].error}`);
  });
  assert.equal(res[cases.length].out.toString(), 'v=1');
  assert.equal(res[cases.length + 1].out.toString(), '', 'not strict: nothing, as Mustache');
});
