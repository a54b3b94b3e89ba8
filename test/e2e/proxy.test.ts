// The built agent against Debian's tinyproxy (test/support/tinyproxy.ts) on 127.0.0.1: NO_PROXY
// goes past it (it logs no request), wrong proxy credentials and a port it does not allow are
// one clear line per attempt, no password anywhere. The HTTPS journey through it (register, then
// run, with proxy credentials) is in trust.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { journey } from '../support/lifecycle';
import { type Tinyproxy, startTinyproxy, tinyproxyTest } from '../support/tinyproxy';

const PASSWORD = 'proxy-pass-1';

/** Polls until tinyproxy logged `n` requests (bounded). */
async function requestsLogged(proxy: Tinyproxy, n: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (proxy.requests().length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

tinyproxyTest(test, 'NO_PROXY naming the API host: register goes straight to it, tinyproxy sees no request', async () => {
  const j = await journey({ https: true });
  const proxy = await startTinyproxy({ connectPorts: [j.api.port] });
  try {
    const r = await j.run(['register'], { env: { HTTPS_PROXY: `http://127.0.0.1:${proxy.port}`, NO_PROXY: '127.0.0.1' }, timeoutMs: 15_000 });
    assert.is(r.code, 0, r.stderr.slice(-2000));
    assert.ok(j.api.requests.length >= 2);
    assert.equal(proxy.requests(), [], proxy.log());
  } finally {
    await proxy.close();
    await j.close();
  }
});

for (const c of [
  {
    label: 'wrong proxy credentials',
    url: (p: Tinyproxy) => `http://agent:wrong-${PASSWORD}@127.0.0.1:${p.port}`,
    ports: (api: number) => [api],
    line: (p: Tinyproxy, api: string) =>
      `ERROR registering: getting registration: proxy http://127.0.0.1:${p.port}: CONNECT ${api} returned code '401' (Unauthorized): the proxy did not accept the user and password in the proxy URL (retrying)`,
  },
  {
    label: 'a port tinyproxy does not allow for CONNECT',
    url: (p: Tinyproxy) => `http://agent:${PASSWORD}@127.0.0.1:${p.port}`,
    ports: () => [443],
    line: (p: Tinyproxy, api: string) =>
      `ERROR registering: getting registration: proxy http://127.0.0.1:${p.port}: CONNECT ${api} returned code '403' (Access violation) (retrying)`,
  },
]) {
  tinyproxyTest(test, `register through tinyproxy, ${c.label}: one clear line per attempt, no password, SIGTERM ends it`, async () => {
    const j = await journey({ https: true });
    const proxy = await startTinyproxy({ connectPorts: c.ports(j.api.port), basicAuth: { user: 'agent', password: PASSWORD } });
    try {
      const run = j.start(['register'], { env: { HTTPS_PROXY: c.url(proxy) }, timeoutMs: 15_000 });
      await requestsLogged(proxy, 2);
      run.child.kill('SIGTERM');
      const r = await run.result;
      assert.is(r.code, 143, r.stderr.slice(-2000));
      const lines = r.stderr.split('\n').filter((l) => l.includes('ERROR'));
      assert.ok(lines.length >= 2, r.stderr.slice(-2000));
      for (const l of lines) assert.ok(l.endsWith(c.line(proxy, new URL(j.reg.uri).host)), l);
      assert.not.ok(r.stderr.includes(PASSWORD), 'no proxy password in the output');
      assert.not.match(r.stderr, /<html|\n\s+at /, 'no error page, no stack trace');
      assert.is(j.api.requests.length, 0, 'nothing reached the API');
    } finally {
      await proxy.close();
      await j.close();
    }
  });
}

test.run();
