'use strict';
// Telling the app: signal by pid file, exec, http, debounce, retries and
// timeouts; and telling systemd (sd_notify) when akvd is ready.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { setup } = require('./lib/setup');
const { ROOT, Akvd, until, sleep, tryRead, runAkvd } = require('./lib/akvd');

const APP = path.join(__dirname, 'lib', 'app.js');
const RECORD = path.join(__dirname, 'lib', 'record.js');

function startApp(t, fx, args = []) {
  const rec = path.join(fx.dir, 'app.record');
  const portFile = path.join(fx.dir, 'app.port');
  const p = spawn(process.execPath, [APP, rec, '--port-file', portFile, ...args], { stdio: 'ignore' });
  t.after(() => p.kill('SIGKILL'));
  const events = () => (tryRead(fx.dir, 'app.record') || '').trim().split('\n').filter(Boolean)
    .map((l) => JSON.parse(l));
  return { p, rec, events, port: () => Number(tryRead(fx.dir, 'app.port')) };
}

test('a rotation produces exactly one notification of each kind, and sd_notify says READY', async (t) => {
  const fx = await setup(t);
  fx.set('db', 'notify-v1');
  const pidFile = path.join(fx.dir, 'app.pid');
  const app = startApp(t, fx, ['--pid-file', pidFile]);
  await until(() => app.port() > 0 && fs.existsSync(pidFile), { what: 'the app' });
  const execRec = path.join(fx.dir, 'exec.record');
  const cfg = fx.config([{ name: 'db' }], {
    interval: '1h',
    debounce: '300ms',
    notify: [
      { signal: 'HUP', pid_file: pidFile },
      { exec: [process.execPath, RECORD, execRec], timeout: '10s' },
      { http: `http://127.0.0.1:${app.port()}/refresh` },
    ],
  });
  const sock = path.join(fx.dir, 'notify.sock');
  const sd = spawn(path.join(ROOT, 'build', 'test', 'sd_listen'), [sock]);
  t.after(() => sd.kill('SIGKILL'));
  let sdOut = '';
  sd.stdout.on('data', (b) => { sdOut += b; });
  await until(() => sdOut.includes('listening'), { what: 'the notify socket' });

  const a = new Akvd(['--config', fx.write(cfg)], { env: { NOTIFY_SOCKET: sock } });
  fx.procs.push(a);
  await a.waitLog(/snapshot written/);
  await until(() => /READY=1\|STATUS=ready: 1 objects, 0 failing, last snapshot/.test(sdOut), { what: 'READY=1' });
  await sleep(800);
  assert.deepEqual(app.events().filter((e) => e.kind !== 'ready'), [], 'no notification for the first snapshot');

  fx.set('db', 'notify-v2');
  a.kill('SIGUSR1');
  await until(() => app.events().filter((e) => e.kind !== 'ready').length >= 2 && fs.existsSync(execRec),
    { what: 'notifications' });
  await sleep(1000);
  const ev = app.events().filter((e) => e.kind !== 'ready');
  assert.deepEqual(ev.map((e) => e.kind).sort(), ['http', 'signal']);
  assert.equal(ev.find((e) => e.kind === 'signal').sig, 'SIGHUP');
  const h = ev.find((e) => e.kind === 'http');
  assert.equal(h.method, 'POST');
  assert.equal(h.path, '/refresh');
  const ex = fs.readFileSync(execRec, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(ex.length, 1);
  assert.equal(ex[0].changed, 'db');
  const log = a.log();
  assert.match(log, /notification sent notify="pid_file .*app.pid" signal=HUP pid=\d+/);
  assert.match(log, /notification output notify="exec .*" line="reloaded the app"/);
  assert.match(log, /notification finished notify="exec .*" result="exit 0"/);
  assert.match(log, /notification sent notify="http POST http:\/\/127.0.0.1:\d+\/refresh" status=204/);
  assert.equal((sdOut.match(/READY=1/g) || []).length, 1);
  // SIGHUP: RELOADING=1 then READY=1 again.
  a.kill('SIGHUP');
  await until(() => /RELOADING=1\|MONOTONIC_USEC=\d+/.test(sdOut) && (sdOut.match(/READY=1/g) || []).length === 2,
    { what: 'reload notifications' });
  await a.stop();
  await until(() => sdOut.includes('STOPPING=1'), { what: 'STOPPING=1' });
  fx.assertNoSecretsLogged(a);
});

test('three changes within the debounce window produce one notification', async (t) => {
  const fx = await setup(t);
  fx.set('a', 'burst-a-0');
  fx.set('b', 'burst-b-0');
  const execRec = path.join(fx.dir, 'exec.record');
  const cfg = fx.config([{ name: 'a' }, { name: 'b' }], {
    interval: '1h', debounce: '2s', notify: [{ exec: [process.execPath, RECORD, execRec] }],
  });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  for (let i = 1; i <= 3; i++) {
    fx.set(i === 2 ? 'b' : 'a', `burst-${i}`);
    const mark = a.lines.length;
    a.kill('SIGUSR1');
    await a.waitLog(/snapshot written/, { from: mark });
    await sleep(300);
  }
  await until(() => fs.existsSync(execRec), { what: 'the notification' });
  await sleep(2500);
  const ex = fs.readFileSync(execRec, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(ex.length, 1, JSON.stringify(ex));
  assert.deepEqual(ex[0].changed.split(',').sort(), ['a', 'b']);
  assert.equal(a.count(/snapshot written/), 4);
  await a.stop();
});

test('a missing pid file is retried until the app writes it', async (t) => {
  const fx = await setup(t);
  fx.set('p', 'pid-v1');
  const pidFile = path.join(fx.dir, 'late.pid');
  const cfg = fx.config([{ name: 'p' }], { interval: '1h', debounce: '100ms',
    notify: [{ signal: 'USR2', pid_file: pidFile }] });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  fx.set('p', 'pid-v2');
  a.kill('SIGUSR1');
  await a.waitLog(/notification failed: will retry notify="pid_file .*late.pid" error="cannot open the pid file: No such file or directory"/);
  const app = startApp(t, fx, ['--pid-file', pidFile]);
  await until(() => app.events().some((e) => e.kind === 'signal' && e.sig === 'SIGUSR2'),
    { timeout: 20000, what: 'the signal after the pid file appeared' });
  assert.match(a.log(), /notification sent notify="pid_file .*late.pid" signal=USR2/);
  await a.stop();
});

test('a pid file holding a number beyond pid_t is refused, not turned into a process group', async (t) => {
  const fx = await setup(t);
  fx.set('p', 'pid-v1');
  // The app leads its own process group; 2^32 - pgid cast to pid_t is
  // -pgid: kill() would signal the whole group.
  const rec = path.join(fx.dir, 'app.record');
  const app = spawn(process.execPath, [APP, rec], { stdio: 'ignore', detached: true });
  t.after(() => app.kill('SIGKILL'));
  await until(() => (tryRead(fx.dir, 'app.record') || '').includes('ready'), { what: 'the app' });
  const pidFile = path.join(fx.dir, 'wrap.pid');
  fs.writeFileSync(pidFile, `${2 ** 32 - app.pid}\n`);
  const cfg = fx.config([{ name: 'p' }], { interval: '1h', debounce: '100ms',
    notify: [{ signal: 'USR2', pid_file: pidFile }] });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  fx.set('p', 'pid-v2');
  a.kill('SIGUSR1');
  await a.waitLog(/notification failed: will retry notify="pid_file .*wrap.pid" error="invalid pid/);
  assert.doesNotMatch(a.log(), /notification sent/);
  assert.doesNotMatch(tryRead(fx.dir, 'app.record'), /signal/);
  await a.stop();
});

test('an exec notification gets neither akvd\'s credentials nor its descriptors', async (t) => {
  const fx = await setup(t, { clientSecrets: ['sp-secret~value'] });
  fx.secrets.add('sp-secret~value');
  fx.set('e', 'env-v1');
  const probe = path.join(fx.dir, 'probe');
  // (exec >: a redirection of a command would make sh save fd 1 in fd 10.)
  const script = 'exec > "$0.fds"; ls /proc/$$/fd; exec > "$0.env"; '
    + 'echo "secret=${AZURE_CLIENT_SECRET-unset} header=${IDENTITY_HEADER-unset} changed=$AKVD_CHANGED"';
  const cfg = fx.config([{ name: 'e' }], { interval: '1h', debounce: '100ms',
    notify: [{ exec: ['/bin/sh', '-c', script, probe] }] });
  delete cfg.auth.token_file;	// AZURE_CLIENT_SECRET + tenant + client: client_secret
  const a = fx.start(fx.write(cfg), [], { env: { AZURE_CLIENT_SECRET: 'sp-secret~value', IDENTITY_HEADER: 'ih' } });
  await a.waitLog(/snapshot written/);
  fx.set('e', 'env-v2');
  a.kill('SIGUSR1');
  await a.waitLog(/notification finished notify="exec \/bin\/sh" result="exit 0"/);
  assert.equal(fs.readFileSync(`${probe}.env`, 'utf8').trim(), 'secret=unset header=unset changed=e');
  assert.deepEqual(fs.readFileSync(`${probe}.fds`, 'utf8').trim().split('\n'), ['0', '1', '2']);
  await a.stop();
  fx.assertNoSecretsLogged(a);
});

// Pipes akvd holds open (a leaked exec output pipe is one of them).
function pipes(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try { return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('pipe:'); } catch (e) { return false; }
  }).length;
}

// Gone, or a zombie waiting for whoever inherited it.
function gone(pid) {
  try {
    return /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch (e) {
    return true;
  }
}

test('an exec notification whose background process keeps its output open is killed at the timeout', async (t) => {
  const fx = await setup(t);
  fx.set('bg', 'bg-v0');
  const pidFile = path.join(fx.dir, 'bg');
  const cfg = fx.config([{ name: 'bg' }], { interval: '1h', debounce: '100ms',
    notify: [{ exec: ['/bin/sh', '-c', 'sleep 60 & echo $! > "$0.$AKVD_CHANGED.pid"; echo started', pidFile],
      timeout: '1s' }] });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  const before = pipes(a.proc.pid);
  const sleeps = [];
  for (let i = 1; i <= 3; i++) {
    const mark = a.lines.length;
    fx.set('bg', `bg-v${i}`);
    a.kill('SIGUSR1');
    await a.waitLog(/notification finished notify="exec \/bin\/sh" result="exit 0"/, { from: mark });
    await a.waitLog(/notification left a process holding its output: killed after the timeout notify="exec \/bin\/sh"/,
      { from: mark });
    sleeps.push(Number(fs.readFileSync(`${pidFile}.bg.pid`, 'utf8')));
    fs.unlinkSync(`${pidFile}.bg.pid`);
  }
  assert.match(a.log(), /notification output notify="exec \/bin\/sh" line=started/);
  for (const pid of sleeps) await until(() => gone(pid), { what: `the background sleep ${pid} killed` });
  assert.equal(pipes(a.proc.pid), before, 'no exec output pipe left open');
  await a.stop();
});

test('an http notification\'s own timeout bounds each attempt, not the global one', async (t) => {
  const fx = await setup(t);
  fx.set('h', 'http-v1');
  // An app that accepts the connection and never answers.
  const sockets = [];
  const mute = net.createServer((s) => { sockets.push(s); s.on('error', () => {}); });
  await new Promise((resolve) => mute.listen(0, '127.0.0.1', resolve));
  t.after(() => { for (const s of sockets) s.destroy(); mute.close(); });
  const cfg = fx.config([{ name: 'h' }], { interval: '1h', debounce: '100ms', timeout: '20s',
    notify: [{ http: `http://127.0.0.1:${mute.address().port}/refresh`, timeout: '1s' }] });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  fx.set('h', 'http-v2');
  a.kill('SIGUSR1');
  const { line } = await a.waitLog(/notification failed: will retry notify="http POST .*" error=/);
  assert.match(line, /timed out after 1\d\d\d milliseconds/);
  await a.stop();
});

test('an exec notification that overruns its timeout is killed', async (t) => {
  const fx = await setup(t);
  fx.set('x', 'slow-v1');
  const execRec = path.join(fx.dir, 'exec.record');
  const cfg = fx.config([{ name: 'x' }], { interval: '1h', debounce: '100ms',
    notify: [{ exec: [process.execPath, RECORD, execRec, '60000'], timeout: '1s' }] });
  const a = fx.start(fx.write(cfg));
  await a.waitLog(/snapshot written/);
  fx.set('x', 'slow-v2');
  a.kill('SIGUSR1');
  await a.waitLog(/notification finished notify="exec .*" result="killed after the 1000 ms timeout"/);
  const { pid } = JSON.parse(fs.readFileSync(execRec, 'utf8').trim());
  assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the command is gone');
  await a.stop();
});

test('notify configuration errors name their path', async (t) => {
  const fx = await setup(t);
  const cfg = fx.config([{ name: 'x' }], { notify: [
    { signal: 'HUP' },
    { signal: 'BOGUS', process: 'nginx' },
    { exec: ['relative/cmd'] },
    { http: 'http://example.com/refresh' },
    { exec: [] },
  ] });
  const r = await runAkvd(['--check', '-c', fx.write(cfg)]);
  assert.equal(r.code, 78);
  assert.match(r.stderr, /notify\[0\]: needs exactly one of pid_file, process, exec and http/);
  assert.match(r.stderr, /notify\[1\]\.signal: unknown signal "BOGUS"/);
  assert.match(r.stderr, /notify\[2\]\.exec: the program must be an absolute path/);
  assert.match(r.stderr, /notify\[3\]\.http: must be an https URL, or http to a loopback address/);
  assert.match(r.stderr, /notify\[4\]\.exec: must be a non-empty array/);
});

test('processes matched by name inside a PID namespace; never itself, never outside', async (t) => {
  if (process.getuid() !== 0) {
    t.skip('needs root for unshare --pid');
    return;
  }
  const fx = await setup(t);
  fx.set('ns', 'ns-v1');
  const inside = path.join(fx.dir, 'inside.record');
  const outside = path.join(fx.dir, 'outside.record');
  // The same name outside the namespace: must not be signalled.
  const out = spawn(process.execPath, [APP, outside, '--title', 'akvdtestapp'], { stdio: 'ignore' });
  t.after(() => out.kill('SIGKILL'));
  const cfg = fx.config([{ name: 'ns' }], { interval: '1h', debounce: '100ms', notify: [
    { signal: 'HUP', process: 'akvdtestapp' },
    { signal: 'USR2', process: 'akvd' },
  ] });
  const cfgPath = fx.write(cfg);
  const bin = process.env.AKVD_BIN || path.join(ROOT, 'build', 'akvd');
  // pid 1 of the namespace is the shell; the app and akvd run under it.
  const script = `"${process.execPath}" "${APP}" "${inside}" --title akvdtestapp &
    "${bin}" --config "${cfgPath}" & echo $! > "${fx.dir}/akvd.pid"; wait`;
  const ns = spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', 'sh', '-c', script],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } });
  t.after(() => ns.kill('SIGKILL'));
  let log = '';
  ns.stderr.on('data', (b) => { log += b; });
  await until(() => log.includes('snapshot written') && fs.existsSync(inside), { what: `akvd in the namespace\n${log}` });
  fx.set('ns', 'ns-v2');
  const akvdPid = Number(fs.readFileSync(path.join(fx.dir, 'akvd.pid'), 'utf8'));
  assert.ok(akvdPid > 1);
  // Signal akvd by the pid the namespace's shell saw: find it from outside.
  const hostPid = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).find((p) => {
    try {
      const st = fs.readFileSync(`/proc/${p}/status`, 'utf8');
      return /^Name:\s+akvd$/m.test(st) && new RegExp(`^NSpid:\\s+\\d+\\s+${akvdPid}$`, 'm').test(st);
    } catch (e) { return false; }
  });
  assert.ok(hostPid, 'akvd found from the host');
  process.kill(Number(hostPid), 'SIGUSR1');
  await until(() => /notification sent notify="process akvdtestapp" signal=HUP pids=\d+/.test(log),
    { what: `the notification\n${log}` });
  await until(() => (tryRead(fx.dir, 'inside.record') || '').includes('SIGHUP'), { what: 'the signal inside' });
  await sleep(500);
  assert.ok(!(tryRead(fx.dir, 'outside.record') || '').includes('SIGHUP'), 'the app outside was not signalled');
  assert.match(log, /notification found no process notify="process akvd"/);
  ns.kill('SIGKILL');
});

test('WATCHDOG=1 pings at half WATCHDOG_USEC, which the command does not inherit', async (t) => {
  const fx = await setup(t);
  fx.set('w', 'watchdog-v1');
  const sock = path.join(fx.dir, 'notify.sock');
  const sd = spawn(path.join(ROOT, 'build', 'test', 'sd_listen'), [sock]);
  t.after(() => sd.kill('SIGKILL'));
  let sdOut = '';
  sd.stdout.on('data', (b) => { sdOut += b; });
  await until(() => sdOut.includes('listening'), { what: 'the notify socket' });
  const envOut = path.join(fx.dir, 'env.out');
  const cfg = fx.config([{ name: 'w' }], { interval: '1h' });
  const a = new Akvd(['--config', fx.write(cfg), '--', '/bin/sh', '-c',
    `env > ${envOut}; exec sleep 600`], { env: { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '400000' } });
  fx.procs.push(a);
  await until(() => (sdOut.match(/WATCHDOG=1/g) || []).length >= 3, { what: 'three WATCHDOG=1 pings' });
  await until(() => fs.existsSync(envOut) && /PATH=/.test(fs.readFileSync(envOut, 'utf8')), { what: 'the command' });
  const env = fs.readFileSync(envOut, 'utf8');
  assert.doesNotMatch(env, /^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID)=/m);
  await a.stop();
});
