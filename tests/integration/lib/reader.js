'use strict';
// A reader like an application: reads OUT/user and OUT/pass in a tight loop
// while akvd rotates them, and reports every anomaly.  Each value is
// "<name>-<generation>-" padded with '#' to exactly SIZE bytes.
//   node reader.js OUT SIZE STOPFILE
// Prints one JSON summary line on stdout when STOPFILE appears.

const fs = require('node:fs');
const path = require('node:path');

const [out, sizeArg, stopFile] = process.argv.slice(2);
const SIZE = Number(sizeArg);
const s = { reads: 0, missing: 0, torn: 0, mixed: 0, regress: 0, pairs: 0, maxGen: 0, errors: [] };
const last = { user: -1, pass: -1 };

function parse(name, buf) {
  const m = /^([a-z]+)-(\d+)-#*$/.exec(buf);
  if (buf.length !== SIZE || !m || m[1] !== name) return null;
  return Number(m[2]);
}

function note(kind, msg) {
  s[kind]++;
  if (s.errors.length < 20) s.errors.push(`${kind}: ${msg}`);
}

function once() {
  for (const name of ['user', 'pass']) {
    let buf;
    try {
      buf = fs.readFileSync(path.join(out, name), 'latin1');
    } catch (e) {
      note('missing', `${name}: ${e.code}`);
      continue;
    }
    s.reads++;
    const g = parse(name, buf);
    if (g === null) { note('torn', `${name}: ${JSON.stringify(buf.slice(0, 40))} (${buf.length} bytes)`); continue; }
    if (g < last[name]) note('regress', `${name}: ${g} after ${last[name]}`);
    last[name] = g;
    if (g > s.maxGen) s.maxGen = g;
  }
  // Both files through one snapshot directory: same generation.
  let target;
  try {
    target = fs.readlinkSync(path.join(out, '..data'));
  } catch (e) {
    note('missing', `..data: ${e.code}`);
    return;
  }
  let u, p;
  try {
    u = fs.readFileSync(path.join(out, target, 'user'), 'latin1');
    p = fs.readFileSync(path.join(out, target, 'pass'), 'latin1');
  } catch (e) {
    return;  // that snapshot was retired between readlink and open: fine
  }
  s.pairs++;
  const gu = parse('user', u), gp = parse('pass', p);
  if (gu === null || gp === null) note('torn', `snapshot ${target}`);
  else if (gu !== gp) note('mixed', `snapshot ${target}: user ${gu} pass ${gp}`);
}

for (;;) {
  for (let i = 0; i < 50; i++) once();
  if (fs.existsSync(stopFile)) break;
}
process.stdout.write(JSON.stringify(s) + '\n');
