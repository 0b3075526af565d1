'use strict';
// HTTPS_PROXY is honoured (CONNECT tunnel, TLS still verified end to end),
// and NO_PROXY bypasses it.

const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const net = require('node:net');
const { setup } = require('./lib/setup');
const { Akvd, tryRead, until } = require('./lib/akvd');

function connectProxy() {
  const seen = [];
  const server = http.createServer((req, res) => { res.writeHead(405); res.end(); });
  server.on('connect', (req, client, head) => {
    seen.push(req.url);
    const [host, port] = req.url.split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, seen,
    url: `http://127.0.0.1:${server.address().port}` })));
}

test('requests go through HTTPS_PROXY, and not when NO_PROXY matches', async (t) => {
  const fx = await setup(t);
  const proxy = await connectProxy();
  t.after(() => proxy.server.close());
  fx.set('p', 'through-the-proxy');
  const cfg = fx.write(fx.config([{ name: 'p' }]));
  const kvHostPort = new URL(fx.d.vaultUrl).host;
  const entraHostPort = new URL(fx.d.authorityHost).host;

  const a = new Akvd(['--config', cfg], { env: { HTTPS_PROXY: proxy.url, NO_PROXY: '', no_proxy: '' } });
  fx.procs.push(a);
  await a.waitLog(/snapshot written/);
  assert.equal(tryRead(fx.out, 'p'), 'through-the-proxy');
  assert.ok(proxy.seen.includes(kvHostPort), JSON.stringify(proxy.seen));
  assert.ok(proxy.seen.includes(entraHostPort), JSON.stringify(proxy.seen));
  await a.stop();

  proxy.seen.length = 0;
  fx.set('p', 'around-the-proxy');
  const b = new Akvd(['--config', cfg], { env: { HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } });
  fx.procs.push(b);
  await until(() => tryRead(fx.out, 'p') === 'around-the-proxy', { what: 'direct fetch' });
  assert.deepEqual(proxy.seen, []);
  await b.stop();
});
