// The machinery of the real-boot suite: disks (mkfs.ext4 -d, read back with debugfs), QEMU runs
// (one per boot, TCG, user networking whose only way out is a guestfwd to the stand-in API on
// 127.0.0.1) and a registry of what must be cleaned up, also when a step fails or times out.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** test/boot of the clone (scripts/run-ts.mjs runs the suite from the repository root). */
export const BOOT_DIR = resolve('test/boot');
/** The address the guest reaches the stand-in API at (guestfwd); /etc/hosts names it elemental.test. */
export const API_GUEST_ADDRESS = '10.0.2.100';
export const API_GUEST_NAME = 'elemental.test';

// ---------------------------------------------------------------------------------------------
// Clean-up: every QEMU process and temp dir is registered here and removed by cleanup(),
// which the suite runs in a finally and on SIGINT/SIGTERM.

const processes = new Set<ChildProcess>();
const paths = new Set<string>();

export function trackPath(path: string): string {
  paths.add(path);
  return path;
}

export function cleanup(): void {
  for (const child of processes) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  processes.clear();
  for (const path of paths) rmSync(path, { recursive: true, force: true });
  paths.clear();
}

// ---------------------------------------------------------------------------------------------
// Commands

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (bounded); throws with its output when it fails. */
export function run(cmd: string, args: string[], opts: { timeoutMs?: number; allowFail?: boolean; input?: string } = {}): RunResult {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
    input: opts.input,
  });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  const result = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  if (!opts.allowFail && r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}:\n${r.stderr}${r.stdout}`.slice(0, 4000));
  }
  return result;
}

export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', 'command -v -- "$1" >/dev/null', 'sh', cmd]).status === 0;
}

// ---------------------------------------------------------------------------------------------
// Disks

/** An ext4 image of `dir` (sparse, `sizeMiB`), made without mounting anything. */
export function makeDisk(dir: string, file: string, sizeMiB = 3072): void {
  run('mkfs.ext4', ['-q', '-F', '-L', 'root', '-d', dir, file, `${sizeMiB}M`], { timeoutMs: 300_000 });
}

/** A guest file's content (debugfs -R 'cat PATH'), or undefined when it does not exist. */
export function diskRead(disk: string, path: string): string | undefined {
  const stat = run('debugfs', ['-R', `stat ${path}`, disk], { allowFail: true });
  if (/File not found|not found by ext2_lookup/.test(stat.stderr) || stat.status !== 0) return undefined;
  return run('debugfs', ['-R', `cat ${path}`, disk]).stdout;
}

/** The permission bits of a guest file (debugfs -R 'stat PATH'), or undefined. */
export function diskMode(disk: string, path: string): number | undefined {
  const stat = run('debugfs', ['-R', `stat ${path}`, disk], { allowFail: true });
  const m = /Mode:\s+0?([0-7]+)/.exec(stat.stdout);
  return m ? parseInt(m[1]!, 8) & 0o7777 : undefined;
}

/** A symlink's target in the guest (fast symlinks only, which unit links are). */
export function diskLink(disk: string, path: string): string | undefined {
  const stat = run('debugfs', ['-R', `stat ${path}`, disk], { allowFail: true });
  const m = /Fast link dest:\s+"([^"]*)"/.exec(stat.stdout);
  return m ? m[1] : undefined;
}

// ---------------------------------------------------------------------------------------------
// QEMU

export interface BootOptions {
  kernel: string;
  initrd: string;
  disk: string;
  /** The stand-in API's port on 127.0.0.1 (the guest reaches it at 10.0.2.100, same port). */
  apiPort: number;
  serialLog: string;
  append?: string;
  memoryMiB?: number;
  /** Virtual CPUs (default 1). */
  smp?: number;
  /** SMBIOS tables the guest's firmware gets (`type=1,manufacturer=…`, one -smbios each): real /sys/class/dmi/id. */
  smbios?: string[];
  /**
   * A second NIC (eth1) on a user network of its own (10.0.3.0/24, restrict=on, no forward):
   * it reaches nothing; it is there to get an address later in the boot (host information).
   */
  secondNic?: boolean;
}

export interface Boot {
  readonly child: ChildProcess;
  readonly serialLog: string;
  readonly startedAt: number;
  /** Resolves with QEMU's exit (the guest powered off or rebooted: -no-reboot). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** The serial console so far. */
  serial(): string;
  /** Resolves when the serial console matches `re`; rejects when QEMU exits first or after `timeoutMs`. */
  waitForSerial(re: RegExp, timeoutMs: number): Promise<void>;
  /** Waits for QEMU to exit by itself; kills it and throws after `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<number>;
  kill(): Promise<void>;
}

// no_timer_check: on a loaded host TCG is too slow for the kernel's IO-APIC timer check, which
// then panics ("IO-APIC + timer doesn't work!"); the check is pointless in a VM.
export const DEFAULT_APPEND = 'root=/dev/vda rw console=ttyS0 net.ifnames=0 panic=-1 no_timer_check';

/** One boot: QEMU runs until the guest powers off or reboots (-no-reboot), or until killed. */
export function boot(opts: BootOptions): Boot {
  const fwd = join(BOOT_DIR, 'fwd.cjs');
  if (!existsSync(fwd)) throw new Error(`missing ${fwd}`);
  // restrict=on: the guest reaches nothing but the guestfwd (no host, no outside world).
  const netdev = `user,id=n0,restrict=on,guestfwd=tcp:${API_GUEST_ADDRESS}:${opts.apiPort}-cmd:${process.execPath} ${fwd} ${opts.apiPort}`;
  const args = [
    '-accel', 'tcg',
    '-no-reboot',
    '-nographic',
    '-nodefaults',
    '-m', String(opts.memoryMiB ?? 1024),
    '-smp', String(opts.smp ?? 1),
    ...(opts.smbios ?? []).flatMap((table) => ['-smbios', table]),
    '-kernel', opts.kernel,
    '-initrd', opts.initrd,
    '-append', opts.append ?? DEFAULT_APPEND,
    '-drive', `file=${opts.disk},format=raw,if=virtio`,
    '-netdev', netdev,
    '-device', 'virtio-net-pci,netdev=n0',
    ...(opts.secondNic ? ['-netdev', 'user,id=n1,restrict=on,net=10.0.3.0/24', '-device', 'virtio-net-pci,netdev=n1,mac=52:54:00:00:03:15'] : []),
    '-serial', `file:${opts.serialLog}`,
    '-monitor', 'none',
  ];
  closeSync(openSync(opts.serialLog, 'w'));
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  processes.add(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const startedAt = Date.now();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on('exit', (code, signal) => {
      processes.delete(child);
      resolve({ code, signal, at: Date.now() });
    });
  });
  let done = false;
  void exited.then(() => (done = true));
  const serial = (): string => {
    try {
      return readFileSync(opts.serialLog, 'latin1');
    } catch {
      return '';
    }
  };
  const tail = (): string => `\n--- serial console (last 60 lines) ---\n${serial().split('\n').slice(-60).join('\n')}\n--- qemu stderr ---\n${stderr}`;
  return {
    child,
    serialLog: opts.serialLog,
    startedAt,
    exited,
    serial,
    async waitForSerial(re, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (re.test(serial())) return;
        if (done) throw new Error(`QEMU exited before the console showed ${re}${tail()}`);
        if (Date.now() > deadline) throw new Error(`the console did not show ${re} within ${timeoutMs / 1000} s${tail()}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async waitForExit(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
      const result = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (result === 'timeout') {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`the guest did not power off or reboot within ${timeoutMs / 1000} s${tail()}`);
      }
      if (result.code !== 0) throw new Error(`QEMU exited with ${result.code ?? result.signal}${tail()}`);
      return result.at - startedAt;
    },
    async kill() {
      if (!done) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The kernel and initrd of a root (its /boot/vmlinuz-*, /boot/initrd.img-*). */
export function kernelOf(root: string): { kernel: string; initrd: string; version: string } {
  const r = run('sh', ['-c', 'ls "$1"/boot/vmlinuz-* | sort -V | tail -n 1', 'sh', root]);
  const kernel = r.stdout.trim();
  const version = kernel.replace(/^.*\/vmlinuz-/, '');
  const initrd = join(root, 'boot', `initrd.img-${version}`);
  if (!statSync(kernel).isFile() || !existsSync(initrd)) throw new Error(`no kernel/initrd in ${root}/boot`);
  return { kernel, initrd, version };
}
