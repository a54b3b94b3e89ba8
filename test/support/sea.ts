// The agent executables: the SEAs (`npm run build:sea`, `npm run build:sea:arm64`,
// scripts/build-sea.mjs), node with dist/elemental-agent.js injected, for x64 and for arm64; and
// the Bun executable (`npm run build:bun`, scripts/build-bun.mjs).
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AGENT_PATH } from './spawn-agent';
import { bunExecutableUnusable as bunBuiltFrom } from '../../scripts/build-bun.mjs';

export const SEA_PATH = resolve('dist/elemental-agent-linux-x64');
export const SEA_ARM64_PATH = resolve('dist/elemental-agent-linux-arm64');

/**
 * Why the SEA at `path` cannot stand for the current bundle — not built, or built from another
 * bundle (the blob holds the bundle byte for byte) — or undefined when it can.
 */
export function seaUnusable(path = SEA_PATH): string | undefined {
  const name = path === SEA_ARM64_PATH ? 'dist/elemental-agent-linux-arm64' : 'dist/elemental-agent-linux-x64';
  const build = path === SEA_ARM64_PATH ? 'npm run build:sea:arm64' : 'npm run build:sea';
  if (!existsSync(path)) return `${name} is not built (${build})`;
  if (!readFileSync(path).includes(readFileSync(AGENT_PATH))) return `${name} holds an older bundle (${build})`;
  return undefined;
}

export const BUN_EXE_PATH = resolve('dist/elemental-agent-bun-linux-x64');

/** Why the Bun executable cannot stand for the current bundle, or undefined when it can. */
export function bunExecutableUnusable(): string | undefined {
  return bunBuiltFrom(BUN_EXE_PATH, AGENT_PATH);
}
