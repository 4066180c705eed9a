import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { AdminServer } from '../../../src/admin/admin-server.js';
import { curl } from './curl.js';

/**
 * The admin server's HTTP surface, with curl as the client: routes, the loopback Host check, and
 * what a POST must look like. The daemon behind the routes is stood in for by fixed answers.
 */
describe('admin server over HTTP', () => {
  const retries: unknown[] = [];
  let ready = false;
  let url: string;
  const server = new AdminServer({
    listen: { host: '127.0.0.1', port: 0 },
    allowRemote: false,
    logger: pino({ level: 'silent' }),
    routes: {
      healthz: () => undefined,
      readyz: () => ({ ready, reasons: ready ? [] : ['catching up: people'] }),
      metrics: () => Promise.resolve('pubsync_ready 0\n'),
      metricsContentType: 'text/plain; version=0.0.4; charset=utf-8',
      status: () => ({ live: { ready } }),
      retry: (request) => {
        retries.push(request);
        return Promise.resolve([{ id: 1, status: 'applied' }]);
      },
    },
  });

  before(async () => {
    url = await server.listen();
  });

  after(() => server.close());

  it('binds port 0 to a real port and answers the probes', async () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(url, 'http://127.0.0.1:0');
    assert.deepEqual(await curl(`${url}/healthz`), { status: 200, body: 'ok\n' });
    assert.deepEqual(await curl(`${url}/readyz`), { status: 503, body: 'not ready: catching up: people\n' });
    ready = true;
    assert.deepEqual(await curl(`${url}/readyz`), { status: 200, body: 'ready\n' });
    const metrics = await curl(`${url}/metrics`, '-i');
    assert.match(metrics.body, /content-type: text\/plain; version=0\.0\.4/i);
    assert.deepEqual(JSON.parse((await curl(`${url}/status`)).body), { live: { ready: true } });
  });

  it('takes a retry as JSON only, and checks its shape', async () => {
    const ok = await curl(`${url}/dlq/retry`, '-X', 'POST', '-H', 'Content-Type: application/json', '-d', '{"ids":[1]}');
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(retries, [{ ids: [1] }]);
    const form = await curl(`${url}/dlq/retry`, '-X', 'POST', '-d', '{"all":true}');
    assert.equal(form.status, 415, 'a form post (what a web page can send cross-origin) is refused');
    for (const body of ['{"ids":[]}', '{"ids":[0]}', '{"ids":[1],"all":true}', '[]', '{"all":"yes"}']) {
      assert.equal((await curl(`${url}/dlq/retry`, '-X', 'POST', '-H', 'Content-Type: application/json', '-d', body)).status, 400, body);
    }
    const broken = await curl(`${url}/dlq/retry`, '-X', 'POST', '-H', 'Content-Type: application/json', '-d', '{"ids":');
    assert.equal(broken.status, 400);
    assert.match(broken.body, /not JSON/);
    const huge = await curl(`${url}/dlq/retry`, '-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', `{"ids":[${'1,'.repeat(40_000)}1]}`);
    assert.equal(huge.status, 400);
    assert.equal(retries.length, 1, 'none of the refused ones reached the daemon');
  });

  it('refuses a Host that is not a loopback name, and names the routes it has', async () => {
    assert.equal((await curl(`${url}/healthz`, '-H', 'Host: attacker.example:80')).status, 403);
    assert.equal((await curl(`${url}/healthz`, '-H', `Host: localhost:${new URL(url).port}`)).status, 200);
    const missing = await curl(`${url}/nothing`);
    assert.equal(missing.status, 404);
    assert.match(missing.body, /GET \/metrics/);
    assert.equal((await curl(`${url}/metrics`, '-X', 'POST')).status, 404);
  });
});
