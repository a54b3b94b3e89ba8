// SIGTERM/SIGINT: the agent stops within a second with the SPEC exit code, nothing half-written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { LABELS } from '../support/elemental-api';
import { CONFIG_PATH, WORK_DIR, journey, onlyHost } from '../support/lifecycle';
import { stderrMatches } from '../support/spawn-agent';

const LONG = '  reconciliation: 30s\n';
const LONG_NS = 30_000_000_000;

function stopWithin(child: import('node:child_process').ChildProcess, signal: NodeJS.Signals) {
  const sent = Date.now();
  child.kill(signal);
  return sent;
}

function noTempFiles(dir: string) {
  const leftovers = readdirSync(dir).filter((f) => f.endsWith('.tmp'));
  assert.equal(leftovers, [], `temp files left in ${dir}`);
}

test('SIGTERM during the run wait: exit 143 within 1 s, files complete', async () => {
  const j = await journey({ agent: { reconciliation: LONG_NS }, startingAgentYaml: LONG });
  try {
    const reg = await j.run(['register', '--install']);
    assert.is(reg.code, 0, reg.stderr);
    const name = onlyHost(j).name;
    j.api.setOsVersionManagement(j.reg, name, { osImage: 'v1' });
    const agent = j.start(['run']);
    await j.api.waitFor(() => j.api.host(j.reg, name)?.conditions.find((c) => c.type === 'OSVersionReady'), 10_000);
    await new Promise((r) => setTimeout(r, 200)); // now inside the 30 s wait
    const sent = stopWithin(agent.child, 'SIGTERM');
    const r = await agent.result;
    const elapsed = Date.now() - sent;
    assert.is(r.code, 143, r.stderr);
    assert.ok(elapsed < 1000, `stopped after ${elapsed} ms`);
    assert.match(r.stderr, /SIGTERM received/);
    assert.is(j.read(`${WORK_DIR}/os-version.yaml`), 'osImage: v1\n');
    noTempFiles(j.path(WORK_DIR));
  } finally {
    await j.close();
  }
});

test('SIGTERM during a retry loop (server down): exit 143 within 1 s, nothing written', async () => {
  const j = await journey({ startingAgentYaml: LONG });
  try {
    await j.api.down();
    const agent = j.start(['register', '--install']);
    assert.ok(await stderrMatches(agent, /\(retrying\)/), 'a failed attempt, retried');
    const sent = stopWithin(agent.child, 'SIGTERM');
    const r = await agent.result;
    assert.is(r.code, 143, r.stderr);
    assert.ok(Date.now() - sent < 1000, `stopped after ${Date.now() - sent} ms`);
    assert.not.ok(j.exists(`${WORK_DIR}/private.key`));
    assert.match(j.read(CONFIG_PATH), /reconciliation: 30s/, 'the starting config is untouched');
  } finally {
    await j.close();
  }
});

test('SIGINT during a hung request: exit 130 within 1 s (the request is abandoned, not waited for)', async () => {
  const j = await journey({ startingAgentYaml: LONG });
  try {
    j.api.injectFault({ op: 'getRegistration', kind: 'hang', ms: 20_000 });
    const agent = j.start(['register']);
    await j.api.waitFor(() => j.api.requests.find((r) => r.op === 'getRegistration'), 10_000);
    const sent = stopWithin(agent.child, 'SIGINT');
    const r = await agent.result;
    assert.is(r.code, 130, r.stderr);
    assert.ok(Date.now() - sent < 1000, `stopped after ${Date.now() - sent} ms`);
  } finally {
    await j.close();
  }
});

test('SIGTERM while bootstrapped and idle: the bootstrapped label stays, exit 143', async () => {
  const j = await journey({ agent: { reconciliation: LONG_NS }, startingAgentYaml: LONG });
  try {
    assert.is((await j.run(['register', '--install'])).code, 0);
    const name = onlyHost(j).name;
    j.api.setBootstrap(j.reg, name, { config: 'x' });
    j.api.updateHost(j.reg, name, (h) => {
      h.labels[LABELS.bootstrapped] = 'true';
    });
    const agent = j.start(['run']);
    await j.api.waitFor(() => j.api.requests.filter((r) => r.op === 'patchHost' && (r.body as { phase?: string }).phase === 'Running').length > 0, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    const sent = stopWithin(agent.child, 'SIGTERM');
    const r = await agent.result;
    assert.is(r.code, 143);
    assert.ok(Date.now() - sent < 1000);
    assert.equal(r.calls, []);
  } finally {
    await j.close();
  }
});

test.run();
