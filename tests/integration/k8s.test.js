'use strict';
// k8s/: every manifest parses, `kubectl kustomize` renders the base and
// every overlay, and the rendered pods keep the invariants users rely on:
// workload identity labels, akvd as a native sidecar gated by /readyz (a
// plain --once init container in "once"), an in-memory emptyDir the app
// mounts read-only, hardened security contexts, sized resources, and an
// akvd configuration that akvd accepts.  KUBECTL picks another kubectl.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const YAML = require('yaml');
const Ajv2020 = require('ajv/dist/2020');
const { ROOT, tmpdir, runAkvd } = require('./lib/akvd');

const K8S = path.join(ROOT, 'k8s');
const KUBECTL = process.env.KUBECTL || 'kubectl';
const validate = new Ajv2020({ allErrors: true, strict: false })
  .compile(JSON.parse(fs.readFileSync(path.join(ROOT, 'config', 'schema.json'), 'utf8')));
const TARGETS = ['base', 'overlays/once', 'overlays/signal', 'overlays/postgres'];

function yamlFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out;
}

function parseAll(text, what) {
  const docs = YAML.parseAllDocuments(text);
  for (const d of docs) assert.deepEqual(d.errors, [], `${what}: ${d.errors.join('; ')}`);
  return docs.map((d) => d.toJS()).filter((d) => d !== null);
}

test('every manifest under k8s/ parses as YAML', () => {
  const files = yamlFiles(K8S);
  assert.ok(files.length >= 8, files.join(' '));
  for (const f of files) {
    const docs = parseAll(fs.readFileSync(f, 'utf8'), path.relative(ROOT, f));
    assert.ok(docs.length > 0, f);
    for (const d of docs) {
      assert.equal(typeof d.apiVersion, 'string', `${f}: apiVersion`);
      assert.equal(typeof d.kind, 'string', `${f}: kind`);
    }
  }
  for (const t of TARGETS) assert.ok(fs.existsSync(path.join(K8S, t, 'kustomization.yaml')), t);
});

const rendered = new Map();
function render(t, target) {
  if (spawnSync(KUBECTL, ['version', '--client'], { stdio: 'ignore' }).error) {
    t.skip('kubectl is not installed (scripts/install-deps.sh installs kubernetes-client)');
    return null;
  }
  if (!rendered.has(target)) {
    const r = spawnSync(KUBECTL, ['kustomize', path.join(K8S, target)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `kubectl kustomize ${target}: ${r.stderr}`);
    rendered.set(target, parseAll(r.stdout, target));
  }
  return rendered.get(target);
}

const one = (docs, kind) => {
  const l = docs.filter((d) => d.kind === kind);
  assert.equal(l.length, 1, `one ${kind}`);
  return l[0];
};

function checkContainer(c, pod) {
  const sc = c.securityContext || {};
  assert.equal(sc.allowPrivilegeEscalation, false, `${c.name}: allowPrivilegeEscalation`);
  assert.equal(sc.readOnlyRootFilesystem, true, `${c.name}: readOnlyRootFilesystem`);
  assert.ok(sc.capabilities && sc.capabilities.drop.includes('ALL'), `${c.name}: drop ALL`);
  assert.equal(sc.capabilities.add, undefined, `${c.name}: no capability added`);
  assert.notEqual(sc.privileged, true, `${c.name}: privileged`);
  const uid = sc.runAsUser ?? pod.securityContext.runAsUser;
  assert.ok(uid > 0, `${c.name}: runs as uid ${uid}`);
}

// akvd's configuration as akvd sees it: accepted by akvd --check and by
// the schema; "listen" is returned for the probes' checks.
async function checkConfig(cfgText, dir) {
  const cfg = JSON.parse(cfgText);
  const listen = cfg.listen;
  const file = path.join(dir, 'akvd.json');
  fs.writeFileSync(file, JSON.stringify(cfg));
  const r = await runAkvd(['--check', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(validate(cfg), `config/schema.json: ${JSON.stringify(validate.errors)}`);
  return { cfg, listen };
}

for (const target of TARGETS) {
  test(`kubectl kustomize k8s/${target}: renders, and keeps the invariants`, async (t) => {
    const docs = render(t, target);
    if (!docs) return;
    const once = target === 'overlays/once';
    const sa = one(docs, 'ServiceAccount');
    assert.match(sa.metadata.annotations['azure.workload.identity/client-id'], /^[0-9a-f-]{36}$/);
    const dep = one(docs, 'Deployment');
    const tpl = dep.spec.template;
    assert.equal(tpl.metadata.labels['azure.workload.identity/use'], 'true');
    for (const [k, v] of Object.entries(dep.spec.selector.matchLabels)) assert.equal(tpl.metadata.labels[k], v);
    const pod = tpl.spec;
    assert.equal(pod.serviceAccountName, sa.metadata.name);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(Number.isInteger(pod.securityContext.fsGroup), 'fsGroup: the app reads 0440 files');
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');

    const akvd = pod.initContainers.find((c) => c.name === 'akvd');
    assert.ok(akvd, 'an init container named akvd');
    for (const c of [...pod.initContainers, ...pod.containers]) checkContainer(c, pod);
    assert.ok(akvd.resources.requests.memory && akvd.resources.limits.memory, 'memory request and limit');
    assert.ok(akvd.resources.requests.cpu, 'cpu request');

    // The shared volume: memory-backed, bounded, written by akvd only.
    const vol = pod.volumes.find((v) => v.name === 'secrets');
    assert.equal(vol.emptyDir.medium, 'Memory');
    assert.ok(vol.emptyDir.sizeLimit, 'sizeLimit');
    const akvdMount = akvd.volumeMounts.find((m) => m.name === 'secrets');
    assert.ok(akvdMount && !akvdMount.readOnly, 'akvd writes the volume');
    const readers = pod.containers.filter((c) => (c.volumeMounts || []).some((m) => m.name === 'secrets'));
    assert.ok(readers.length >= 1, 'the app mounts the volume');
    for (const c of readers) {
      const m = c.volumeMounts.find((x) => x.name === 'secrets');
      assert.equal(m.readOnly, true, `${c.name} mounts the secrets read-only`);
      assert.equal(m.mountPath, akvdMount.mountPath, `${c.name} sees the files where akvd writes them`);
    }

    // The image's entrypoint is akvd itself (Dockerfile): the args are its
    // options, and the configuration is the ConfigMap mounted where
    // --config says.
    assert.equal(akvd.command, undefined, 'the image\'s entrypoint runs');
    assert.equal(akvd.args[0], '--config', 'args are akvd\'s options');
    const cfgPath = akvd.args[1];
    const cfgMount = akvd.volumeMounts.find((m) => cfgPath.startsWith(`${m.mountPath}/`));
    assert.ok(cfgMount, `akvd's --config ${cfgPath} is in a mounted volume`);
    assert.equal(cfgMount.readOnly, true);
    const cmName = pod.volumes.find((v) => v.name === cfgMount.name).configMap.name;
    const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === cmName);
    const dir = tmpdir('akvd-k8s-');
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const { cfg, listen } = await checkConfig(cm.data[path.basename(cfgPath)], dir);
    assert.equal(cfg.output_dir, akvdMount.mountPath, 'akvd writes into the shared volume');

    if (once) {
      assert.equal(akvd.restartPolicy, undefined, 'a plain init container');
      assert.ok(akvd.args.includes('--once'));
      assert.equal(akvd.startupProbe, undefined);
      assert.equal(akvd.livenessProbe, undefined);
    } else {
      assert.equal(akvd.restartPolicy, 'Always', 'a native sidecar');
      assert.ok(!akvd.args.includes('--once'));
      const probe = akvd.startupProbe.httpGet;
      assert.equal(probe.path, '/readyz', 'the app starts after the first snapshot');
      const port = akvd.ports.find((p) => p.name === probe.port || p.containerPort === probe.port);
      assert.ok(port, 'the probe names a port of akvd');
      assert.equal(akvd.livenessProbe.httpGet.path, '/healthz');
      // The kubelet probes the pod's IP: akvd must listen on all addresses.
      assert.match(String(listen), /^(0\.0\.0\.0)?:\d+$/, `listen ${listen}`);
      assert.equal(Number(listen.split(':').pop()), port.containerPort);
    }

    if (target === 'overlays/signal') {
      assert.equal(pod.shareProcessNamespace, true);
      const n = cfg.notify.find((e) => e.process);
      assert.ok(n && n.signal, 'notify by process name');
      const uid = (c) => (c.securityContext || {}).runAsUser ?? pod.securityContext.runAsUser;
      const app = pod.containers.find((c) => c.name === 'app');
      assert.equal(uid(app), uid(akvd), 'same user: signalling needs no capability');
    }

    if (target === 'overlays/postgres') {
      const hook = cfg.notify.find((e) => e.exec).exec;
      const hooksMount = akvd.volumeMounts.find((m) => hook[0].startsWith(`${m.mountPath}/`));
      assert.ok(hooksMount, 'the hook is mounted in akvd');
      const hooks = docs.find((d) => d.kind === 'ConfigMap' &&
        d.metadata.name === pod.volumes.find((v) => v.name === hooksMount.name).configMap.name);
      assert.equal(hooks.data[path.basename(hook[0])],
        fs.readFileSync(path.join(K8S, 'overlays/postgres/rotate-password.sh'), 'utf8'),
        'the hook is the tested script');
      assert.ok(hook[2].startsWith(`${cfg.output_dir}/`), 'the hook reads akvd\'s file');
      const db = pod.containers.find((c) => c.name === 'app');
      assert.deepEqual(db.lifecycle.postStart.exec.command.slice(0, 3), hook, 'the database applies it at start too');
      const env = Object.fromEntries(akvd.env.map((e) => [e.name, e.value]));
      const sockMount = akvd.volumeMounts.find((m) => m.mountPath === env.PGHOST);
      assert.ok(sockMount, 'akvd sees the server\'s socket directory');
      assert.ok(db.volumeMounts.some((m) => m.name === sockMount.name && m.mountPath === env.PGHOST));
      assert.equal(pod.securityContext.runAsUser, 999, 'the postgres user, for peer authentication');
    }
  });
}
