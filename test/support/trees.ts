// Snapshots of a host root's file tree (paths, types, modes, contents), normalised and compared,
// for the fault and crash tests: "every file the agent writes is byte-identical to a clean run's".
import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Journey, journey, onlyHost } from './lifecycle';
import type { AgentOptions } from './spawn-agent';

export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** File content (utf8) or symlink target; undefined for directories. */
  content?: string;
}

/** Relative path (with a leading '/', as a host path) → entry, sorted by path. */
export type Tree = Map<string, TreeEntry>;

/** Every entry under `root` (the root itself excluded), read now. Entries that vanish while reading are skipped. */
export function snapshotTree(root: string): Tree {
  const out: Tree = new Map();
  const walk = (dir: string, rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      const key = `${rel}/${name}`;
      let st;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) {
        out.set(key, { type: 'dir', mode });
        walk(path, key);
      } else if (st.isFile()) {
        let content: string;
        try {
          content = readFileSync(path, 'utf8');
        } catch {
          continue;
        }
        out.set(key, { type: 'file', mode, content });
      } else if (st.isSymbolicLink()) {
        out.set(key, { type: 'symlink', mode, content: readlinkSync(path) });
      } else {
        out.set(key, { type: 'other', mode });
      }
    }
  };
  walk(root, '');
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export type Replacement = readonly [string | RegExp, string];

function applyAll(text: string, replacements: readonly Replacement[]): string {
  let out = text;
  for (const [from, to] of replacements) {
    if (typeof from === 'string') {
      if (from !== '') out = out.split(from).join(to);
    } else {
      out = out.replace(new RegExp(from.source, from.flags.includes('g') ? from.flags : `${from.flags}g`), to);
    }
  }
  return out;
}

/**
 * The tree with `replacements` applied to paths and contents (e.g. the stand-in's URI and
 * token, a random host name), so that two runs against different stand-ins compare equal.
 */
export function normaliseTree(tree: Tree, replacements: readonly Replacement[]): Tree {
  const out: Tree = new Map();
  for (const [path, entry] of tree) {
    const e: TreeEntry = { ...entry };
    if (e.content !== undefined) e.content = applyAll(e.content, replacements);
    out.set(applyAll(path, replacements), e);
  }
  return out;
}

export interface DiffOptions {
  /** Paths whose content is not compared (only presence, type and mode), e.g. a random private key. */
  ignoreContent?: (path: string) => boolean;
  /** Paths left out entirely. */
  ignore?: (path: string) => boolean;
}

function shorten(text: string | undefined): string {
  if (text === undefined) return '(none)';
  const json = JSON.stringify(text);
  return json.length > 160 ? `${json.slice(0, 157)}...` : json;
}

/** Human-readable differences between two trees; empty when they are identical. */
export function diffTrees(expected: Tree, actual: Tree, options: DiffOptions = {}): string[] {
  const problems: string[] = [];
  const ignored = (p: string): boolean => options.ignore?.(p) ?? false;
  for (const [path, want] of expected) {
    if (ignored(path)) continue;
    const got = actual.get(path);
    if (!got) {
      problems.push(`${path}: missing (expected ${want.type})`);
      continue;
    }
    if (got.type !== want.type) problems.push(`${path}: is a ${got.type}, expected a ${want.type}`);
    if (got.mode !== want.mode) problems.push(`${path}: mode ${got.mode.toString(8)}, expected ${want.mode.toString(8)}`);
    if (!(options.ignoreContent?.(path) ?? false) && got.content !== want.content) {
      problems.push(`${path}: content ${shorten(got.content)}, expected ${shorten(want.content)}`);
    }
  }
  for (const [path, got] of actual) {
    if (ignored(path) || expected.has(path)) continue;
    problems.push(`${path}: unexpected ${got.type}${got.content !== undefined ? ` ${shorten(got.content)}` : ''}`);
  }
  return problems;
}

/** Paths of leftover temp files of the atomic writer (`.<name>.<pid>.<hex>.tmp`). */
export function tempFiles(tree: Tree): string[] {
  return [...tree.keys()].filter((p) => /\/\.[^/]+\.tmp$/.test(p));
}

/**
 * Recreates `tree` under `root` (which must exist): directories and files with the tree's modes,
 * existing files overwritten. For starting a case from a state captured once.
 */
export function writeTree(root: string, tree: Tree): void {
  for (const [path, entry] of tree) {
    const target = join(root, path);
    if (entry.type === 'dir') {
      mkdirSync(target, { recursive: true });
      chmodSync(target, entry.mode);
    } else if (entry.type === 'file') {
      writeFileSync(target, entry.content ?? '');
      chmodSync(target, entry.mode);
    } else if (entry.type === 'symlink') {
      symlinkSync(entry.content ?? '', target);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Registered-host templates: the root and host of one real `register --install`, replayed
// against a fresh journey (its own stand-in), so that run/reset cases need no registration each.

export interface RegisteredTemplate {
  uri: string;
  tokens: readonly string[];
  /** The raw (not normalised) tree of the root after registering. */
  tree: Tree;
  host: { name: string; pubKey: string; labels: Record<string, string>; annotations: Record<string, string> };
}

/** Runs `register --install` once in a fresh journey and captures its root and host. */
export async function captureRegistered(options: Partial<AgentOptions> = {}): Promise<RegisteredTemplate> {
  const j = await journey();
  try {
    const r = await j.run(['register', '--install'], options);
    if (r.code !== 0) throw new Error(`template: register --install exited ${r.code}: ${r.stderr}`);
    const h = onlyHost(j);
    return {
      uri: j.reg.uri,
      tokens: [...j.reg.tokens],
      tree: snapshotTree(j.root),
      host: { name: h.name, pubKey: h.pubKey, labels: h.labels, annotations: h.annotations },
    };
  } finally {
    await j.close();
    rmSync(j.root, { recursive: true, force: true });
  }
}

/**
 * The template's files under this journey's root, pointing at this journey's stand-in (URI and
 * current token swapped in), and its host added to the stand-in. Returns the host name.
 */
export function replayRegistered(j: Journey, t: RegisteredTemplate): string {
  const tokens = [...t.tokens].sort((a, b) => b.length - a.length);
  writeTree(j.root, normaliseTree(t.tree, [[t.uri, j.reg.uri], ...tokens.map((tok) => [tok, j.reg.token] as const)]));
  j.api.addHost(j.reg, { ...t.host });
  return t.host.name;
}

/** A random registered host name as the journeys make them (prefix m-). */
export const JOURNEY_HOST_NAME = /m-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Replacements making a journey's tree comparable with another's: its URI, tokens and random host names. */
export function journeyReplacements(j: Journey): Replacement[] {
  const tokens = [...j.reg.tokens].sort((a, b) => b.length - a.length);
  return [[j.reg.uri, '<URI>'], ...tokens.map((t) => [t, '<TOKEN>'] as const), [JOURNEY_HOST_NAME, 'm-<UUID>']];
}
