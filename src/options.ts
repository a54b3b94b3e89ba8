// The global command-line options every command receives (SPEC §2). A module of its own, below
// both the CLI and the agent, so that neither imports the other.
import { join, resolve } from 'node:path';
import { versionLine } from './version';

export const DEFAULT_CONFIG_PATH = '/etc/elemental/agent/config.yaml';

export interface GlobalOptions {
  /** The config file, as the managed host names it (resolved under `root`). */
  config: string;
  debug: boolean;
  /** The managed host's root directory; `/` for the running system. */
  root: string;
  /** The command being run (for the start-up line). */
  command?: string;
}

/** A URI fit for a log line: no user or password, query or fragment. */
export function shownUri(uri: string): string {
  try {
    const url = new URL(uri);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(invalid URI)';
  }
}

/**
 * The INFO line every command that reads the host starts with, so that a journal or a serial
 * console says which agent, config and server a run used: version, config path (and root when
 * not /), plugin, server URI (never the token).
 */
export function startLine(options: GlobalOptions, config: { registration: { uri: string }; agent: { osPlugin: string } }): string {
  const root = options.root === '/' ? '' : `, root ${options.root}`;
  const command = options.command ? ` ${options.command}` : '';
  return `${versionLine()}${command}: config ${options.config}${root}, plugin ${config.agent.osPlugin}, server ${shownUri(config.registration.uri)}`;
}

/**
 * With --root, a host path quoted in an error ('/etc/…/config.yaml') also says where it is on
 * this machine: `config file '/etc/x.yaml' (/tmp/img/etc/x.yaml): file not found`.
 */
export function withLocalPaths(message: string, root: string): string {
  const base = resolve(root);
  if (base === '/') return message;
  // Host paths appear 'single-quoted', or "double-quoted" where they may come from the server.
  return message.replace(/(['"])(\/[^'"\n]*)\1(?! \()/g, (quoted, _quote: string, hostPath: string) =>
    hostPath === base || hostPath.startsWith(`${base}/`) ? quoted : `${quoted} (${join(base, hostPath)})`,
  );
}
