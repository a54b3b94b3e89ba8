// The agent in a minimal environment (SPEC §1: "no bash, no systemd, no CA bundle"): a chroot
// holding ONLY node, the shared libraries it links, the dynamic loader, /etc/passwd and
// /etc/group, an empty /tmp, a /proc mount point and the single bundle, plus the managed host's
// root (/sysroot, as in an initramfs). `register --install` must succeed there, setting the
// hostname through the fallback (no hostnamectl: /etc/hostname under --root + the kernel name).
// Then the same with the SEA (`npm run build:sea`) in place of node and the bundle: a root with
// no node at all. `npm test` runs that case when the SEA is built from the current bundle and
// skips it otherwise; CI builds it and sets ELEMENTAL_REQUIRE_SEA=1, which makes a missing or
// stale SEA a failure.
// Then the arm64 SEA (`npm run build:sea:arm64`) in an arm64 root: the executable, the arm64
// loader and libraries it links (from Debian's *-arm64-cross packages) and qemu-aarch64-static,
// the one x64 file, which runs it (`chroot <dir> /usr/bin/qemu-aarch64-static <agent>`: no
// binfmt_misc needed). Skipped when that SEA or qemu is missing, unless ELEMENTAL_REQUIRE_SEA_ARM64=1.
// Then the Bun executable (`npm run build:bun`) alone in a root: skipped when missing or stale,
// unless ELEMENTAL_REQUIRE_BUN_EXE=1.
// The agent runs through the one spawn helper, in its own UTS namespace (the helper refuses a
// chroot without one) and its own mount namespace holding a fresh /proc, which dies with it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { LABELS, startElementalApi } from '../support/elemental-api';
import { CONFIG_PATH, FAST_RECONCILIATION_NS, INSTALL_CONFIG, INSTALL_YAML, WORK_DIR } from '../support/lifecycle';
import { ARM64_SYSROOT, arm64Runner } from '../../scripts/runtimes.mjs';
import { BUN_EXE_PATH, SEA_ARM64_PATH, SEA_PATH, bunExecutableUnusable, seaUnusable } from '../support/sea';
import { AGENT_PATH, type ChrootOptions, chrootUnavailable, runAgent, startAgent } from '../support/spawn-agent';

const SYSROOT = '/sysroot';
const NODE_IN_CHROOT = '/usr/local/bin/node';
const AGENT_IN_CHROOT = '/elemental-agent.js';
const SEA_IN_CHROOT = '/usr/local/bin/elemental-agent';
const QEMU_IN_CHROOT = '/usr/bin/qemu-aarch64-static';

/** The libraries `ldd` names for an executable (resolved paths as ldd prints them) and the loader. */
function sharedLibraries(executable: string): string[] {
  const ldd = spawnSync('ldd', [executable], { encoding: 'utf8', timeout: 10_000 });
  if (ldd.status !== 0) throw new Error(`ldd ${executable} failed: ${ldd.stderr || ldd.error?.message}`);
  const libs = new Set<string>();
  for (const line of ldd.stdout.split('\n')) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)/.exec(line);
    if (m?.[1] && isAbsolute(m[1])) libs.add(m[1]);
  }
  if (![...libs].some((l) => /\bld-linux|\bld-musl|\/ld-/.test(l))) throw new Error(`ldd named no dynamic loader:\n${ldd.stdout}`);
  return [...libs];
}

/**
 * The same for an arm64 executable, asked of the arm64 loader (`ld.so --list`) under qemu. Its
 * paths are the guest's (/lib/libc.so.6): each is [inside the chroot, the file under ARM64_SYSROOT].
 */
function arm64SharedLibraries(executable: string, qemu: string[]): [inside: string, from: string][] {
  const loader = join(ARM64_SYSROOT, 'lib/ld-linux-aarch64.so.1');
  const list = spawnSync(qemu[0]!, [...qemu.slice(1), loader, '--list', executable], { encoding: 'utf8', timeout: 60_000 });
  if (list.status !== 0) throw new Error(`ld.so --list ${executable} failed: ${list.stderr || list.error?.message}`);
  const libs = new Map<string, string>([['/lib/ld-linux-aarch64.so.1', loader]]);
  for (const line of list.stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line);
    if (!m?.[1] || m[1].startsWith(`${ARM64_SYSROOT}/`)) continue; // the loader, already named
    const from = join(ARM64_SYSROOT, m[1]);
    if (!existsSync(from)) throw new Error(`${executable} links ${m[1]}, not under ${ARM64_SYSROOT}`);
    libs.set(m[1], from);
  }
  if (!libs.has('/lib/libc.so.6')) throw new Error(`ld.so --list named no libc:\n${list.stdout}`);
  return [...libs];
}

interface Chroot {
  dir: string;
  files: number;
  bytes: number;
}

function countFiles(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = countFiles(p);
      files += sub.files;
      bytes += sub.bytes;
    } else {
      files += 1;
      bytes += statSync(p).size;
    }
  }
  return { files, bytes };
}

/**
 * Build a minimal chroot: `files` (path inside → file here; the first is the executable), the
 * executable's libraries and the loader, passwd/group, /tmp, /proc.
 */
function buildChroot(files: [inside: string, from: string][], libraries = sharedLibraries(files[0]![1]).map((lib): [string, string] => [lib, lib])): Chroot {
  const dir = mkdtempSync(join(tmpdir(), 'elemental-chroot-'));
  const put = (inside: string, from: string, mode: number): void => {
    mkdirSync(dirname(join(dir, inside)), { recursive: true, mode: 0o755 });
    copyFileSync(from, join(dir, inside)); // follows symlinks: the real file lands at ldd's path
    chmodSync(join(dir, inside), mode);
  };
  for (const [inside, from] of files) put(inside, from, 0o755);
  for (const [inside, from] of libraries) put(inside, from, 0o755);
  mkdirSync(join(dir, 'etc'), { recursive: true, mode: 0o755 }); // recursive: a node installed under /etc or /tmp already made it
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/sbin/nologin\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\n');
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  chmodSync(join(dir, 'tmp'), 0o1777);
  mkdirSync(join(dir, 'proc'), { mode: 0o555 });
  return { dir, ...countFiles(dir) };
}

/** Every file name in the tree under `dir`. */
function fileNames(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? fileNames(join(dir, entry.name)) : [entry.name]));
}

/** Mount points at or under `dir`, from this machine's mount table. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

// Environment variables pointing at files of this machine (the chroot has none of them).
const HOST_FILE_ENV = { NODE_EXTRA_CA_CERTS: undefined, NODE_OPTIONS: undefined, SSL_CERT_FILE: undefined, SSL_CERT_DIR: undefined };

/**
 * `register --install` in `chroot` (built by buildChroot) against the stand-in, through the spawn
 * helper with `spawn` (what runs the agent inside); checks everything it wrote; removes the chroot.
 */
async function registerInstallIn(chroot: Chroot, spawn: Omit<ChrootOptions, 'dir'>): Promise<void> {
  const hostnameBefore = hostname();
  const api = await startElementalApi();
  const sysroot = (hostPath: string): string => join(chroot.dir, SYSROOT, hostPath);
  try {
    const reg = api.addRegistration({
      hostLabels: { site: 'minimal' },
      install: INSTALL_CONFIG,
      agent: { workDir: WORK_DIR, hostname: { prefix: 'm-' }, reconciliation: FAST_RECONCILIATION_NS, insecureAllowHttp: true },
    });
    mkdirSync(dirname(sysroot(CONFIG_PATH)), { recursive: true });
    writeFileSync(sysroot(CONFIG_PATH), `registration:\n  uri: ${reg.uri}\n  token: ${reg.token}\nagent:\n  reconciliation: 100ms\n  insecureAllowHttp: true\n`);
    // Nothing that could set the hostname or reboot exists in the chroot.
    for (const bin of ['bin/sh', 'bin/bash', 'usr/bin/hostnamectl', 'usr/bin/hostname', 'sbin/reboot', 'usr/sbin/reboot', 'etc/ssl']) {
      assert.not.ok(existsSync(join(chroot.dir, bin)), bin);
    }

    const r = await runAgent(['--config', CONFIG_PATH, 'register', '--install'], {
      root: SYSROOT,
      chroot: { dir: chroot.dir, ...spawn },
      env: HOST_FILE_ENV,
      timeoutMs: 30_000,
    });
    assert.is(r.code, 0, `exit ${r.code} ${r.signal ?? ''}\n${r.stderr}`);
    assert.ok(r.isolatedUts, 'own UTS namespace');
    assert.equal(r.calls, [], 'no shim (nor any real hostnamectl/reboot) could run in the chroot');
    assert.not.match(r.stderr, /warn|error/i, r.stderr);

    const hosts = api.hosts(reg);
    assert.is(hosts.length, 1, 'host registered on the stand-in');
    const host = hosts[0]!;
    assert.match(host.name, /^m-[0-9a-f-]{36}$/);
    assert.is(host.labels.site, 'minimal');
    assert.is(host.labels[LABELS.installed], 'true');
    assert.is(host.conditions.find((c) => c.type === 'InstallationReady')?.status, 'True');

    // Files under --root inside the chroot.
    assert.match(readFileSync(sysroot(CONFIG_PATH), 'utf8'), new RegExp(`^registration:\\n    uri: ${reg.uri.replace(/[.]/g, '\\.')}\\n`));
    assert.is(readFileSync(sysroot(`${WORK_DIR}/config.yaml`), 'utf8'), readFileSync(sysroot(CONFIG_PATH), 'utf8'));
    const key = createPrivateKey(readFileSync(sysroot(`${WORK_DIR}/private.key`), 'utf8'));
    assert.is(createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString(), host.pubKey);
    assert.is(statSync(sysroot(`${WORK_DIR}/private.key`)).mode & 0o777, 0o600);
    assert.is(readFileSync(sysroot(`${WORK_DIR}/install.yaml`), 'utf8'), INSTALL_YAML);
    // The hostname fallback: /etc/hostname under --root (and the kernel name, in the namespace).
    assert.is(readFileSync(sysroot('/etc/hostname'), 'utf8'), `${host.name}\n`);
    // Nothing escaped the chroot's root: no /etc/hostname at the chroot's top level.
    assert.not.ok(existsSync(join(chroot.dir, 'etc/hostname')));
  } finally {
    await api.close();
    // proc was mounted in the agent's own mount namespace: gone with it, never visible here.
    const leftover = mountsUnder(chroot.dir);
    if (leftover.length === 0) rmSync(chroot.dir, { recursive: true, force: true });
    assert.equal(leftover, [], `mounts left under the chroot (not removed): ${leftover.join(', ')}`);
    assert.is(hostname(), hostnameBefore, "this machine's hostname is unchanged");
  }
}

const NODE_TEST = 'register --install in a chroot with only node and the bundle';
const SEA_TEST = 'register --install in a chroot with only the SEA: no node at all';
const ARM64_TEST = 'register --install in an arm64 chroot with only the arm64 SEA, under qemu-user';
const BUN_EXE_TEST = 'register --install in a chroot with only the Bun executable';
const unavailable = chrootUnavailable();
if (unavailable) {
  console.log(`SKIP minimal-env: ${unavailable}`);
  test.skip(NODE_TEST, () => undefined);
  test.skip(SEA_TEST, () => undefined);
  test.skip(ARM64_TEST, () => undefined);
  test.skip(BUN_EXE_TEST, () => undefined);
} else {
  test(NODE_TEST, async () => {
    const chroot = buildChroot([
      [NODE_IN_CHROOT, realpathSync(process.execPath)],
      [AGENT_IN_CHROOT, AGENT_PATH],
    ]);
    try {
      // The helper refuses a chroot without a UTS namespace.
      assert.throws(
        () => startAgent(['version'], { root: SYSROOT, chroot: { dir: chroot.dir }, noUnshare: true }),
        /refusing to run a chroot without its own UTS namespace/,
      );
    } catch (err) {
      rmSync(chroot.dir, { recursive: true, force: true });
      throw err;
    }
    await registerInstallIn(chroot, { runtime: [NODE_IN_CHROOT], agent: AGENT_IN_CHROOT });
  });

  const sea = seaUnusable();
  if (sea && process.env.ELEMENTAL_REQUIRE_SEA !== '1') {
    console.log(`SKIP minimal-env SEA: ${sea}`);
    test.skip(SEA_TEST, () => undefined);
  } else {
    test(SEA_TEST, async () => {
      assert.is(sea, undefined, `ELEMENTAL_REQUIRE_SEA=1: ${sea}`);
      const chroot = buildChroot([[SEA_IN_CHROOT, SEA_PATH]]);
      const names = fileNames(chroot.dir);
      assert.not.ok(names.some((n) => /^(node|nodejs|bun|deno)$|\.js$/.test(n)), `no JavaScript runtime nor script in the root: ${names.join(', ')}`);
      console.log(`\n  SEA root: ${chroot.files} files, ${(chroot.bytes / 1e6).toFixed(1)} MB (${names.join(', ')})`);
      await registerInstallIn(chroot, { runtime: [], agent: SEA_IN_CHROOT });
    });
  }

  const runner = arm64Runner();
  const arm64 = seaUnusable(SEA_ARM64_PATH) ?? runner.problem;
  if (arm64 && process.env.ELEMENTAL_REQUIRE_SEA_ARM64 !== '1') {
    console.log(`SKIP minimal-env arm64 SEA: ${arm64}`);
    test.skip(ARM64_TEST, () => undefined);
  } else {
    test(ARM64_TEST, async () => {
      assert.is(arm64, undefined, `ELEMENTAL_REQUIRE_SEA_ARM64=1: ${arm64}`);
      const qemu = runner.prefix as string[];
      const files: [string, string][] = [[SEA_IN_CHROOT, SEA_ARM64_PATH]];
      // On an arm64 machine the executable runs itself; elsewhere the static qemu goes in the root.
      const emulator = qemu.length ? findOnPath(qemu[0]!) : undefined;
      if (emulator) files.push([QEMU_IN_CHROOT, emulator]);
      const chroot = buildChroot(files, qemu.length ? arm64SharedLibraries(SEA_ARM64_PATH, qemu) : undefined);
      const names = fileNames(chroot.dir);
      assert.not.ok(names.some((n) => /^(node|nodejs|bun|deno)$|\.js$/.test(n)), `no JavaScript runtime nor script in the root: ${names.join(', ')}`);
      assert.not.ok(names.some((n) => /x86[-_]64/.test(n)), `no x64 loader nor library in the root: ${names.join(', ')}`);
      console.log(`\n  arm64 SEA root: ${chroot.files} files, ${(chroot.bytes / 1e6).toFixed(1)} MB (${names.join(', ')})`);
      await registerInstallIn(chroot, { runtime: emulator ? [QEMU_IN_CHROOT] : [], agent: SEA_IN_CHROOT });
    });
  }

  const bunExe = bunExecutableUnusable();
  if (bunExe && process.env.ELEMENTAL_REQUIRE_BUN_EXE !== '1') {
    console.log(`SKIP minimal-env Bun executable: ${bunExe}`);
    test.skip(BUN_EXE_TEST, () => undefined);
  } else {
    test(BUN_EXE_TEST, async () => {
      assert.is(bunExe, undefined, `ELEMENTAL_REQUIRE_BUN_EXE=1: ${bunExe}`);
      const chroot = buildChroot([[SEA_IN_CHROOT, BUN_EXE_PATH]]);
      const names = fileNames(chroot.dir);
      assert.not.ok(names.some((n) => /^(node|nodejs|bun|deno)$|\.js$/.test(n)), `no JavaScript runtime nor script in the root: ${names.join(', ')}`);
      console.log(`\n  Bun executable root: ${chroot.files} files, ${(chroot.bytes / 1e6).toFixed(1)} MB (${names.join(', ')})`);
      await registerInstallIn(chroot, { runtime: [], agent: SEA_IN_CHROOT });
    });
  }
}

/** The file `name` runs as on PATH (resolved through symlinks). */
function findOnPath(name: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout.trim()) throw new Error(`${name} is not on PATH`);
  return realpathSync(r.stdout.trim());
}

test.run();
