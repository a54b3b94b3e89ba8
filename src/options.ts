// The global command-line options every command receives (SPEC §2). A module of its own, below
// both the CLI and the agent, so that neither imports the other.

export const DEFAULT_CONFIG_PATH = '/etc/elemental/agent/config.yaml';

export interface GlobalOptions {
  /** The config file, as the managed host names it (resolved under `root`). */
  config: string;
  debug: boolean;
  /** The managed host's root directory; `/` for the running system. */
  root: string;
}
