// --root DIR keeps the registered name (SPEC §9): the agent writes DIR/etc/hostname itself and
// runs no hostnamectl (which renames the running system and never writes DIR/etc/hostname), so
// the commands after `register` find the host under its registered name instead of the
// machine's kernel name (every PATCH answered 404 before, forever).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { onlyHost, registeredJourney } from '../support/lifecycle';

test('after register --root DIR, install, run and reset --root DIR act as the registered host', async () => {
  const { j, name } = await registeredJourney();
  try {
    assert.is(j.read('/etc/hostname'), `${name}\n`, 'DIR/etc/hostname holds the registered name');
    j.api.clearRequests();
    const install = await j.run(['install']);
    assert.is(install.code, 0, install.stderr);
    assert.equal(install.calls, [], 'no hostnamectl, and no post-install action (postInstall unset)');

    const running = j.start(['run']);
    await j.api.waitFor(() => onlyHost(j).phase === 'Running', 10_000);
    running.child.kill('SIGTERM');
    const run = await running.result;
    assert.is(run.code, 143, run.stderr);
    assert.not.match(run.stderr, /returned code '404'/);

    const reset = await j.run(['reset']);
    assert.is(reset.code, 0, reset.stderr);
    // Every host-scoped request went to the registered name and was answered as such.
    const hostRequests = j.api.requests.filter((r) => r.hostName !== undefined);
    assert.ok(hostRequests.length > 0);
    assert.equal([...new Set(hostRequests.map((r) => r.hostName))], [name]);
    assert.ok(hostRequests.every((r) => r.status !== 404), 'no request was answered 404');
  } finally {
    await j.close();
  }
});

test.run();
