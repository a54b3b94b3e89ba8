// Types of scripts/runtimes.mjs for the TypeScript that imports it (bench/, test/).
export interface Runtime {
  name: string;
  package: string;
  version: string;
  bin: string;
  foreign?: boolean;
  command?: (bin: string) => string[];
  reports: string;
}
export const DENO_PERMISSIONS: string[];
export const RUNTIMES: (Runtime & { command: (bin: string) => string[] })[];
export const SEA_NODE: Runtime & { command: (bin: string) => string[] };
export const SEA_NODE_ARM64: Runtime;
export const RUNTIME_PROBE: string;
export const ARM64_SYSROOT: string;
export function arm64Runner(): { prefix: string[]; problem?: undefined } | { problem: string; prefix?: undefined };
export function cacheDir(): string;
export function binaryPath(runtime: Runtime): string;
export function ensureRuntime(runtime: Runtime, log?: (line: string) => void): string;
