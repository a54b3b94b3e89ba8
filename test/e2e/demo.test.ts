// `npm run demo` is the README's first command on a fresh machine: it must keep passing as the
// agent changes (it checks each step itself and exits 1 on the first that does not hold).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';

test('npm run demo: every step of the lifecycle checks out', () => {
  const r = spawnSync(process.execPath, ['scripts/run-ts.mjs', 'demo/demo.ts'], { encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
  assert.match(r.stdout, /^demo OK: \d+ steps, each checked/m);
});

test.run();
