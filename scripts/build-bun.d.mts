// Types of scripts/build-bun.mjs for the TypeScript that imports it (bench/, test/).
export const BUN_EXE_PATH: string;
export const BUN_EXE_SOURCE: string;
export function bunExecutableUnusable(exe?: string, bundle?: string): string | undefined;
export function buildBunExecutable(): Promise<void>;
