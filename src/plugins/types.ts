// The OS plugin interface (SPEC §9): the operations the phases call. Inputs from the server
// are passed as JSON text, as the reference passes raw JSON bytes, so an external plugin gets
// exactly what the server sent.
import type { HostRoot } from '../fs';
import type { Host } from '../host';

export interface PluginContext {
  /** Host path of the agent work dir (un-prefixed). */
  workDir: string;
  /** Host path of the agent config file. */
  configPath: string;
  debug: boolean;
  /** Resolves host paths under --root. */
  root: HostRoot;
  /** Hostname, reboot, power off. */
  host: Host;
}

export interface OsPlugin {
  init(context: PluginContext): void | Promise<void>;
  /** The hostname the host has now. */
  getHostname(): string | Promise<string>;
  /** Makes `name` the host's hostname, persistently. */
  persistHostname(name: string): void | Promise<void>;
  /** Writes a file (host path) with the given mode, creating parent directories. */
  persistFile(content: string, path: string, mode: number): void | Promise<void>;
  /** Applies `config.cloudConfig` (JSON). */
  applyCloudInit(json: string): void | Promise<void>;
  /** Installs with `config.elemental.install` (JSON). */
  install(json: string): void | Promise<void>;
  /**
   * Applies the CAPI bootstrap config of the given format. `config` is its exact bytes (a
   * Buffer: `config.toString()` for text); it can be megabytes, so it is not copied to a string.
   */
  bootstrap(format: string, config: Buffer): void | Promise<void>;
  /** Reconciles `osVersionManagement` (JSON); resolves true when a reboot is needed. */
  reconcileOSVersion(json: string): boolean | Promise<boolean>;
  /** Prepares the host for reset. */
  triggerReset(): void | Promise<void>;
  /** Resets with `config.elemental.reset` (JSON). */
  reset(json: string): void | Promise<void>;
  powerOff(): void | Promise<void>;
  reboot(): void | Promise<void>;
}

export const PLUGIN_OPERATIONS = [
  'init',
  'getHostname',
  'persistHostname',
  'persistFile',
  'applyCloudInit',
  'install',
  'bootstrap',
  'reconcileOSVersion',
  'triggerReset',
  'reset',
  'powerOff',
  'reboot',
] as const satisfies readonly (keyof OsPlugin)[];
