'use strict';
// What the systemd unit relies on (Type=notify, WatchdogSec=, ExecReload=):
// READY=1 after the first snapshot, WATCHDOG=1 pings while running,
// RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM; against a
// stand-in for systemd's notification socket.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { setup } = require('./lib/setup');
const { ROOT, Akvd, until } = require('./lib/akvd');

test('the service manager is told READY, WATCHDOG, RELOADING and STOPPING', async (t) => {
  const fx = await setup(t);
  fx.set('db', 'watchdog-v1');
  const sock = path.join(fx.dir, 'notify.sock');
  const sd = spawn(path.join(ROOT, 'build', 'test', 'sd_listen'), [sock]);
  t.after(() => sd.kill('SIGKILL'));
  let out = '';
  sd.stdout.on('data', (b) => { out += b; });
  await until(() => out.includes('listening'), { what: 'the notify socket' });
  const msgs = () => out.split('\n').filter((l) => l && l !== 'listening');

  // WatchdogSec=2s: systemd sets WATCHDOG_USEC (and WATCHDOG_PID, unset
  // here as when NotifyAccess covers the main process only).
  const a = new Akvd(['--config', fx.write(fx.config([{ name: 'db' }], { interval: '1h' }))],
    { env: { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '2000000' } });
  fx.procs.push(a);
  await until(() => msgs().some((m) => m.startsWith('READY=1')), { what: 'READY=1' });
  const ready = msgs().findIndex((m) => m.startsWith('READY=1'));
  await until(() => msgs().slice(ready).filter((m) => m === 'WATCHDOG=1').length >= 3,
    { timeout: 20000, what: `three WATCHDOG=1 pings:\n${out}` });

  // MONOTONIC_USEC is CLOCK_MONOTONIC (node's hrtime on Linux), not the
  // wall clock: between the two readings taken around the reload.
  const t0 = process.hrtime.bigint() / 1000n;
  a.kill('SIGHUP');
  await until(() => msgs().some((m) => m.startsWith('RELOADING=1|MONOTONIC_USEC=')), { what: 'RELOADING=1' });
  const t1 = process.hrtime.bigint() / 1000n;
  const rel = msgs().findIndex((m) => m.startsWith('RELOADING=1'));
  const usec = BigInt(/MONOTONIC_USEC=(\d+)/.exec(msgs()[rel])[1]);
  assert.ok(usec >= t0 && usec <= t1, `MONOTONIC_USEC=${usec} within [${t0}, ${t1}]`);
  await until(() => msgs().slice(rel + 1).some((m) => m.startsWith('READY=1')), { what: 'READY=1 after the reload' });

  const r = await a.stop();
  assert.equal(r.code, 0);
  await until(() => msgs().includes('STOPPING=1'), { what: 'STOPPING=1' });
});
