// Host file access: the one place where --root is applied, the atomic writer (SPEC §11),
// and directory creation with explicit modes.
import * as nodeFs from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { log } from './log';

/** Maps host paths (as configured, reported and written into files) to paths on this machine. */
export class HostRoot {
  readonly root: string;
  constructor(root = '/') {
    this.root = resolve(root);
  }
  /** Absolute host paths go under the root; relative ones are relative to the working dir. */
  resolve(hostPath: string): string {
    if (!isAbsolute(hostPath) || this.root === '/') return resolve(hostPath);
    return join(this.root, resolve('/', hostPath));
  }
}

/** The subset of node:fs the writer uses, so tests can fail a write half way. */
export interface WriteOps {
  openSync: typeof nodeFs.openSync;
  writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number) => number;
  fsyncSync: typeof nodeFs.fsyncSync;
  fchmodSync: typeof nodeFs.fchmodSync;
  closeSync: typeof nodeFs.closeSync;
  renameSync: typeof nodeFs.renameSync;
  unlinkSync: typeof nodeFs.unlinkSync;
}

const realOps: WriteOps = nodeFs;

/**
 * Writes a file so that a crash or power loss leaves either the old or the new content:
 * temp file in the same directory, fsync, rename over the target, fsync the directory.
 * The mode is set explicitly (fchmod), whatever the umask.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode: number, ops: WriteOps = realOps): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = ops.openSync(tmp, 'wx', mode);
    ops.fchmodSync(fd, mode);
    for (const buffer of encodedPieces(data)) {
      let offset = 0;
      while (offset < buffer.length) {
        offset += ops.writeSync(fd, buffer, offset, buffer.length - offset);
      }
    }
    ops.fsyncSync(fd);
    ops.closeSync(fd);
    fd = undefined;
    ops.renameSync(tmp, path);
    removeStaleTemps(dir, basename(path));
  } catch (err) {
    if (fd !== undefined) {
      try {
        ops.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      ops.unlinkSync(tmp);
    } catch {
      /* never created, or already renamed */
    }
    throw err;
  }
  fsyncDir(dir);
}

/** Whether a process with this pid exists (EPERM: it does, but belongs to someone else). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Temp files of `name` left by a writer that was killed (power cut, kill -9) are removed by
 * the next successful write of the same file, unless their writer is still alive.
 */
function removeStaleTemps(dir: string, name: string): void {
  const prefix = `.${name}.`;
  let entries: string[];
  try {
    entries = nodeFs.readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || !entry.endsWith('.tmp')) continue;
    const m = /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(entry.slice(prefix.length));
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    try {
      nodeFs.unlinkSync(join(dir, entry));
    } catch {
      /* gone already, or not ours to remove */
    }
  }
}

const PIECE_CHARS = 1 << 20;

/**
 * UTF-8 bytes of `data` in pieces of about 1 MiB, so that a 10 MB string is never held a second
 * time as one 10 MB buffer. A piece never ends between the two halves of a surrogate pair.
 */
function* encodedPieces(data: string | Uint8Array): Generator<Uint8Array> {
  if (typeof data !== 'string') {
    yield data;
    return;
  }
  for (let start = 0; start < data.length; ) {
    let end = Math.min(start + PIECE_CHARS, data.length);
    const last = data.charCodeAt(end - 1);
    if (end < data.length && last >= 0xd800 && last <= 0xdbff) end--; // keep the pair together
    yield Buffer.from(data.slice(start, end), 'utf8');
    start = end;
  }
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = nodeFs.openSync(dir, 'r');
    nodeFs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself already happened.
  } finally {
    if (fd !== undefined) nodeFs.closeSync(fd);
  }
}

const DIR_OPEN_FLAGS = nodeFs.constants.O_RDONLY | nodeFs.constants.O_DIRECTORY | nodeFs.constants.O_NOFOLLOW;

/**
 * Opens a directory without following a symlink in its last component: modes are then set on
 * the handle (fchmod), so a symlink swapped in after mkdir cannot redirect them.
 */
function openDir(path: string): number {
  try {
    return nodeFs.openSync(path, DIR_OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Linux says ENOTDIR for a symlink when O_DIRECTORY is given too.
    if (code === 'ELOOP' || (code === 'ENOTDIR' && nodeFs.lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink())) {
      throw Object.assign(new Error(`${path} is a symbolic link, expected a directory: give the directory it points to`), { code: 'ELOOP' });
    }
    if (code === 'ENOTDIR') throw Object.assign(new Error(`${path} exists and is not a directory`), { code: 'ENOTDIR' });
    throw err;
  }
}

/** lstat-based: a dangling symlink exists (and is refused by openDir, not created over). */
function existsNoFollow(path: string): boolean {
  try {
    nodeFs.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates a directory with `mode` and any missing parents with `parentMode` (both set
 * explicitly through the handle, not via umask): only the directory asked for is private, not
 * /var or /var/lib. An existing directory that its group or others may write (and `mode` does
 * not allow) is tightened, with one WARN: files the agent keeps there must not be replaceable
 * by other users. A shared sticky directory (such as /tmp) is refused instead of changed.
 */
export function ensureDir(path: string, mode: number, parentMode = 0o755): void {
  const target = resolve(path);
  const missing: string[] = [];
  let current = target;
  while (!existsNoFollow(current)) {
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  let createdTarget = false;
  for (const dir of missing.reverse()) {
    const dirMode = dir === target ? mode : parentMode;
    try {
      nodeFs.mkdirSync(dir, { mode: dirMode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      continue; // made by someone else meanwhile: treated as existing
    }
    if (dir === target) createdTarget = true;
    else withHandle(openDir(dir), (fd) => nodeFs.fchmodSync(fd, dirMode));
  }
  withHandle(openDir(target), (fd) => {
    if (createdTarget) {
      nodeFs.fchmodSync(fd, mode);
      return;
    }
    const st = nodeFs.fstatSync(fd);
    const loose = st.mode & 0o022 & ~mode;
    if (loose === 0) return;
    const shown = (st.mode & 0o7777).toString(8);
    if (st.mode & 0o1000) {
      throw Object.assign(new Error(`${path} is a shared directory (mode ${shown}): give the agent a directory of its own`), { code: 'EPERM' });
    }
    const tightened = st.mode & 0o7777 & ~loose;
    nodeFs.fchmodSync(fd, tightened);
    log.warn(`directory ${path} was writable by ${loose === 0o022 ? 'its group and others' : loose === 0o020 ? 'its group' : 'others'} (mode ${shown}): changed to ${tightened.toString(8)}`);
  });
}

function withHandle(fd: number, use: (fd: number) => void): void {
  try {
    use(fd);
  } finally {
    nodeFs.closeSync(fd);
  }
}

/** The text of a file, or undefined when it cannot be read (absent, a directory, no access). */
export function readIfExists(path: string): string | undefined {
  try {
    return nodeFs.readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function fileExists(path: string): boolean {
  try {
    nodeFs.statSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
