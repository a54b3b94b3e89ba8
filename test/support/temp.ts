// Temporary directories for tests, removed when the test process exits, whether the tests
// passed or failed: a run must leave nothing behind in TMPDIR (test/run.mjs checks).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Every test file is bundled on its own, each with a copy of this module, and uvu runs them in
// one process: the list (and its one exit hook) lives on globalThis, shared by all copies.
const KEY = Symbol.for('elemental-agent.test.tempDirs');
type Registry = { dirs: string[] };

function registry(): Registry {
  const global = globalThis as unknown as Record<symbol, Registry | undefined>;
  let found = global[KEY];
  if (!found) {
    const created: Registry = { dirs: [] };
    found = global[KEY] = created;
    process.once('exit', () => {
      for (const dir of created.dirs) rmSync(dir, { recursive: true, force: true });
    });
  }
  return found;
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  registry().dirs.push(dir);
  return dir;
}
