// Issue 15, through the built agent: odd files named by the config cannot hang it or grow its
// memory (a FIFO blocked open() where SIGTERM cannot reach it; /dev/zero never ends).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withoutTimestamps } from '../support/log-lines';
import { runAgent, tempRoot } from '../support/spawn-agent';

const CONFIG_PATH = '/etc/elemental/agent/config.yaml';
// Nothing listens there, and nothing is sent: the agent stops at start-up.
const URI = 'https://127.0.0.1:9/elemental/v1/namespaces/default/registrations/reg';

async function runWithCaCert(prepare: (root: string) => string) {
  const root = tempRoot();
  try {
    const caCert = prepare(root);
    mkdirSync(join(root, '/etc/elemental/agent'), { recursive: true });
    writeFileSync(join(root, CONFIG_PATH), `registration:\n  uri: ${URI}\n  caCert: ${caCert}\n`);
    const started = Date.now();
    // Killed (SIGKILL) after 20 s: before the fix both cases ran until then.
    const r = await runAgent(['run', '--config', CONFIG_PATH], { root, timeoutMs: 20_000 });
    return { ...r, ms: Date.now() - started };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function assertRefused(r: Awaited<ReturnType<typeof runWithCaCert>>, kind: RegExp) {
  assert.is(r.signal, null, `the agent had to be killed after ${r.ms} ms`);
  assert.is(r.code, 1);
  // The start-up line, then one ERROR line naming caCert.
  const errors = withoutTimestamps(r.stderr).trimEnd().split('\n').filter((l) => !l.startsWith('INFO'));
  assert.is(errors.length, 1, r.stderr);
  assert.match(errors[0] ?? '', /^ERROR +registration\.caCert file "\/etc\/elemental\/ca\.pem" (\(\S+\) )?is not a regular file/);
  assert.match(errors[0] ?? '', kind);
}

test('5: a caCert that is a FIFO is refused at once (opened non-blocking), in one line naming caCert', async () => {
  const r = await runWithCaCert((root) => {
    mkdirSync(join(root, 'etc/elemental'), { recursive: true });
    execFileSync('mkfifo', [join(root, 'etc/elemental/ca.pem')]);
    return '/etc/elemental/ca.pem';
  });
  assertRefused(r, /\(a FIFO\)/);
});

test('5: a caCert that is /dev/zero is refused at once, not read until memory runs out', async () => {
  const r = await runWithCaCert((root) => {
    mkdirSync(join(root, 'etc/elemental'), { recursive: true });
    symlinkSync('/dev/zero', join(root, 'etc/elemental/ca.pem'));
    return '/etc/elemental/ca.pem';
  });
  assertRefused(r, /\(a device\)/);
});

test('11: ELEMENTAL_AGENT_REQUEST_TIMEOUT=5__proto__ is an ordinary invalid duration, not an unexpected error', async () => {
  const root = tempRoot();
  try {
    mkdirSync(join(root, '/etc/elemental/agent'), { recursive: true });
    writeFileSync(join(root, CONFIG_PATH), `registration:\n  uri: ${URI.replace('https:', 'http:')}\nagent:\n  insecureAllowHttp: true\n`);
    const r = await runAgent(['run', '--config', CONFIG_PATH], { root, timeoutMs: 20_000, env: { ELEMENTAL_AGENT_REQUEST_TIMEOUT: '5__proto__' } });
    assert.is(r.code, 1, r.stderr);
    assert.match(withoutTimestamps(r.stderr), /^ERROR +ELEMENTAL_AGENT_REQUEST_TIMEOUT='5__proto__': invalid duration/m);
    assert.not.match(r.stderr, /unexpected error|BigInt/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
