// Injected by build.mjs (esbuild `define`); the fallbacks serve tests that import sources directly.
declare const __AGENT_VERSION__: string | undefined;
declare const __AGENT_COMMIT__: string | undefined;
declare const __AGENT_BUILD_DATE__: string | undefined;

export const version: string = typeof __AGENT_VERSION__ === 'string' ? __AGENT_VERSION__ : '0.0.0-dev';
export const commit: string = typeof __AGENT_COMMIT__ === 'string' ? __AGENT_COMMIT__ : 'unknown';
export const buildDate: string = typeof __AGENT_BUILD_DATE__ === 'string' ? __AGENT_BUILD_DATE__ : 'unknown';

/** Sent as User-Agent and as the `iss` of host tokens. */
export const userAgent = `elemental-agent/${version}`;

export function versionLine(): string {
  return `elemental-agent ${version} (commit ${commit}, ${buildDate})`;
}
