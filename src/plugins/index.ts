// Plugin selection (SPEC §10): built-in dummy, dummy.so paths, or an external .js/.mjs/.cjs.
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AgentError } from '../errors';
import type { HostRoot } from '../fs';
import { DummyPlugin } from './dummy';
import { PLUGIN_OPERATIONS, type OsPlugin } from './types';

const SUPPORTED = "'dummy', a path ending in dummy.so, or a path to a .js/.mjs/.cjs plugin";

// Kept as a real import() in the CJS bundle (esbuild would turn a plain import() into require()).
const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

export async function loadPlugin(osPlugin: string, root: HostRoot): Promise<OsPlugin> {
  if (osPlugin === '' || osPlugin === 'dummy' || basename(osPlugin) === 'dummy.so') return new DummyPlugin();
  if (/\.(m|c)?js$/.test(osPlugin)) return loadExternal(osPlugin, root);
  if (basename(osPlugin) === 'elemental.so') {
    throw new AgentError(`agent.osPlugin '${osPlugin}': the Elemental OS plugin is not available in this agent; use ${SUPPORTED}`);
  }
  throw new AgentError(`agent.osPlugin '${osPlugin}': unsupported plugin; use ${SUPPORTED}`);
}

async function loadExternal(path: string, root: HostRoot): Promise<OsPlugin> {
  const file = root.resolve(path);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(pathToFileURL(file).href);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ERR_MODULE_NOT_FOUND' || code === 'ENOENT' ? 'file not found' : (err as Error).message.split('\n')[0];
    throw new AgentError(`agent.osPlugin '${path}': cannot load plugin: ${reason}`);
  }
  // Accept `export default plugin`, `export const plugin`, `module.exports = plugin`, or a factory.
  let candidate: unknown = mod.plugin ?? mod.default ?? mod;
  if (typeof candidate === 'function') candidate = await (candidate as () => unknown)();
  const plugin = candidate as Partial<OsPlugin> | null;
  const missing = PLUGIN_OPERATIONS.filter((op) => typeof plugin?.[op] !== 'function');
  if (!plugin || missing.length > 0) {
    throw new AgentError(`agent.osPlugin '${path}': not a plugin: missing operations ${missing.join(', ')}`);
  }
  return plugin as OsPlugin;
}
