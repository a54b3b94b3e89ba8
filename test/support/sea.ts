// The SEA (`npm run build:sea`, scripts/build-sea.mjs): node with dist/elemental-agent.js injected.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AGENT_PATH } from './spawn-agent';

export const SEA_PATH = resolve('dist/elemental-agent-linux-x64');

/**
 * Why the SEA cannot stand for the current bundle — not built, or built from another bundle (the
 * blob holds the bundle byte for byte) — or undefined when it can.
 */
export function seaUnusable(): string | undefined {
  if (!existsSync(SEA_PATH)) return 'dist/elemental-agent-linux-x64 is not built (npm run build:sea)';
  if (!readFileSync(SEA_PATH).includes(readFileSync(AGENT_PATH))) return 'dist/elemental-agent-linux-x64 holds an older bundle (npm run build:sea)';
  return undefined;
}
