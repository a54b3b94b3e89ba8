// Plugin selection (SPEC §10): built-in dummy, dummy.so paths, or an external .js/.mjs/.cjs.
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AgentError, LocalDetailError, quote } from '../errors';
import type { HostRoot } from '../fs';
import { DummyPlugin } from './dummy';
import { PLUGIN_OPERATIONS, type OsPlugin } from './types';

const SUPPORTED = "'dummy', a path ending in dummy.so, or a path to a .js/.mjs/.cjs plugin";

// Kept as a real import() in the CJS bundle (esbuild would turn a plain import() into require()).
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

/** Whether `agent.osPlugin` names an external JavaScript plugin (loaded with import()). */
export function isExternalPlugin(osPlugin: string): boolean {
  return /\.(m|c)?js$/.test(osPlugin);
}

export async function loadPlugin(osPlugin: string, root: HostRoot): Promise<OsPlugin> {
  if (osPlugin === '' || osPlugin === 'dummy' || basename(osPlugin) === 'dummy.so') return new DummyPlugin();
  if (isExternalPlugin(osPlugin)) return loadExternal(osPlugin, root);
  if (basename(osPlugin) === 'elemental.so') {
    throw new AgentError(`agent.osPlugin ${quote(osPlugin)}: the Elemental OS plugin is not available in this agent; use ${SUPPORTED}`);
  }
  throw new AgentError(`agent.osPlugin ${quote(osPlugin)}: unsupported plugin; use ${SUPPORTED}`);
}

/**
 * The real path of the external plugin file `path` names, when the agent may import it: an
 * absolute path, an existing regular file, owned and writable only by root (or the agent's own
 * user) up to /. Otherwise an error saying why. `check` runs this without importing the file.
 */
export function externalPluginFile(path: string, root: HostRoot): string {
  // The agent runs as root: code it imports must not come from its working directory, nor from
  // a file or directory that anyone but root (or the agent's own user) can change.
  if (!isAbsolute(path)) {
    throw new AgentError(`agent.osPlugin ${quote(path)} must be an absolute path (a plugin is never loaded from the working directory)`);
  }
  let file: string;
  try {
    file = realpathSync(root.resolve(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw cannotLoad(path, code === 'ENOENT' || code === 'ENOTDIR' ? 'file not found' : `${code ?? (err as Error).message}`);
  }
  if (!statSync(file).isFile()) throw cannotLoad(path, 'not a regular file');
  const unsafe = unsafeOwnership(file);
  if (unsafe) throw cannotLoad(path, unsafe);
  return file;
}

/** The reason goes to the log; the server's condition message only says where to look. */
const cannotLoad = (path: string, reason: string) =>
  new LocalDetailError(`agent.osPlugin ${quote(path)}: cannot load plugin: ${reason}`, `agent.osPlugin ${quote(path)}: cannot load plugin (the reason is in the agent log)`);

async function loadExternal(path: string, root: HostRoot): Promise<OsPlugin> {
  const file = externalPluginFile(path, root);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(pathToFileURL(file).href);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ERR_MODULE_NOT_FOUND' || code === 'ENOENT' ? 'file not found' : ((err as Error).message.split('\n')[0] ?? '');
    throw cannotLoad(path, reason);
  }
  // Accept `export default plugin`, `export const plugin`, `module.exports = plugin`, or a factory.
  let candidate: unknown = mod.plugin ?? mod.default ?? mod;
  if (typeof candidate === 'function') candidate = await (candidate as () => unknown)();
  const plugin = candidate as Partial<OsPlugin> | null;
  const missing = PLUGIN_OPERATIONS.filter((op) => typeof plugin?.[op] !== 'function');
  if (!plugin || missing.length > 0) {
    throw new AgentError(`agent.osPlugin ${quote(path)}: not a plugin: missing operations ${missing.join(', ')}`);
  }
  return plugin as OsPlugin;
}

const STICKY = 0o1000;

/**
 * Why `file` (a real path, no symlinks) is not safe to import, or undefined: the file and every
 * directory up to / must be owned by root (or, when the agent does not run as root, by its own
 * user) and writable by nobody else. A directory writable by others is accepted only when it
 * is root's and sticky (/tmp): there nobody else can rename or replace an entry they do not own,
 * and the entry below it is checked in turn.
 */
export function unsafeOwnership(file: string, uid = process.getuid?.() ?? 0): string | undefined {
  const trusted = (owner: number) => owner === 0 || owner === uid;
  for (let path = file; ; path = dirname(path)) {
    const st = statSync(path);
    const what = path === file ? 'the plugin file' : `directory ${quote(path)}`;
    if (!trusted(st.uid)) return `${what} is owned by uid ${st.uid}, not by root${uid === 0 ? '' : ' or the agent user'}`;
    const othersWrite = (st.mode & 0o022) !== 0;
    const stickyRootDir = path !== file && st.uid === 0 && (st.mode & STICKY) !== 0;
    if (othersWrite && !stickyRootDir) {
      const by = (st.mode & 0o022) === 0o022 ? 'its group and others' : st.mode & 0o020 ? 'its group' : 'others';
      return `${what} is writable by ${by} (mode ${(st.mode & 0o7777).toString(8)}): make it writable by its owner only`;
    }
    if (path === dirname(path)) return undefined;
  }
}
