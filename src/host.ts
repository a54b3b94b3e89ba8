// The host layer the plugin calls: hostname, reboot, power off, and the commands behind them.
// Commands run with execFile (never a shell), so nothing from the server reaches a shell.
import { hostname as kernelHostname } from 'node:os';
import { writeFileSync } from 'node:fs';
import { AgentError, quote } from './errors';
import { HostRoot, ensureDir, readIfExists, writeFileAtomic } from './fs';
import { log } from './log';
import { dirname } from 'node:path';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program without a shell. Rejects with code 'ENOENT' when it is not installed. */
export type CommandRunner = (file: string, args: string[]) => Promise<CommandResult>;

const COMMAND_TIMEOUT_MS = 60_000;

// node:child_process is loaded on first use: it is not needed before the first request, and
// loading it (with dgram) costs a few ms of every start.
export const execFileRunner: CommandRunner = async (file, args) => {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: COMMAND_TIMEOUT_MS, windowsHide: true, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') return reject(err);
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
};

export interface Host {
  /** The hostname this host currently has. */
  currentHostname(): string;
  setHostname(name: string): Promise<void>;
  reboot(): Promise<void>;
  powerOff(): Promise<void>;
}

/** RFC 1123 host name: letters, digits, '-' and '.'; labels 1–63 chars not starting/ending with '-'; ≤ 253. */
export function validateHostname(name: string): void {
  const problem =
    name.length === 0
      ? 'is empty'
      : name.length > 253
        ? `is ${name.length} characters long (at most 253)`
        : !/^[A-Za-z0-9.-]+$/.test(name)
          ? 'may contain only letters, digits, "-" and "."'
          : name.split('.').some((label) => label.length === 0 || label.length > 63)
            ? 'has an empty label or a label longer than 63 characters'
            : name.split('.').some((label) => label.startsWith('-') || label.endsWith('-'))
              ? 'has a label starting or ending with "-"'
              : undefined;
  if (problem) {
    throw new AgentError(`invalid hostname ${quote(name, 60)}: it ${problem} (RFC 1123); check agent.hostname.prefix`);
  }
}

// hostnamectl's ways of saying "systemd is not running here".
const NO_SYSTEMD = /not been booted with systemd|Failed to (connect to|create) bus|System has not been booted|Connection refused|No such file or directory/i;

export class SystemHost implements Host {
  constructor(
    private readonly root: HostRoot,
    private readonly run: CommandRunner = execFileRunner,
    /** The kernel's hostname file; not under --root: it belongs to the running kernel. */
    private readonly kernelHostnameFile = '/proc/sys/kernel/hostname',
    /**
     * Whether the root is the running system (root /): then its name is set through hostnamectl
     * (or by hand without systemd). Tests pass true with a temp root to exercise that path.
     */
    private readonly rootIsRunningSystem = root.root === '/',
  ) {}

  /** With --root, the managed host's name is its /etc/hostname; otherwise the kernel's. */
  currentHostname(): string {
    if (this.root.root !== '/') {
      const name = readIfExists(this.root.resolve('/etc/hostname'))?.split('\n')[0]?.trim();
      if (name) return name; // else the kernel's name
    }
    return kernelHostname();
  }

  async setHostname(name: string): Promise<void> {
    validateHostname(name);
    if (!this.rootIsRunningSystem) {
      // A root other than / (initramfs --root /sysroot, an image build): the name belongs to
      // that root's /etc/hostname. hostnamectl and the kernel name belong to the running
      // system, and an image build must not rename the machine it runs on (SPEC §9).
      log.debug(`writing the hostname to ${this.root.root}/etc/hostname (--root)`);
      this.writeEtcHostname(name);
      return;
    }
    let failure: string;
    try {
      const result = await this.run('hostnamectl', ['set-hostname', name]);
      if (result.code === 0) return;
      failure = result.stderr.trim() || `exit code ${result.code}`;
      if (!NO_SYSTEMD.test(failure)) throw new AgentError(`setting hostname '${name}': hostnamectl failed: ${failure}`);
    } catch (err) {
      if (err instanceof AgentError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new AgentError(`setting hostname '${name}': running hostnamectl: ${(err as Error).message}`);
      failure = 'hostnamectl not found';
    }
    // No systemd (initramfs, minimal images): do what hostnamectl would do, by hand.
    log.debug(`hostnamectl unusable (${failure}); writing /etc/hostname and the kernel hostname`);
    this.writeEtcHostname(name);
    try {
      writeFileSync(this.kernelHostnameFile, name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const hint = code === 'ENOENT' ? ' (is /proc mounted?)' : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? ' (needs root and a writable /proc/sys)' : '';
      throw new AgentError(`setting hostname '${name}': writing ${this.kernelHostnameFile}: ${code ?? (err as Error).message}${hint}`);
    }
  }

  private writeEtcHostname(name: string): void {
    const etcHostname = this.root.resolve('/etc/hostname');
    ensureDir(dirname(etcHostname), 0o755);
    writeFileAtomic(etcHostname, `${name}\n`, 0o644);
  }

  reboot(): Promise<void> {
    return this.power('reboot');
  }

  powerOff(): Promise<void> {
    return this.power('poweroff');
  }

  private async power(command: 'reboot' | 'poweroff'): Promise<void> {
    log.info(`running ${command} -f`);
    let result: CommandResult;
    try {
      result = await this.run(command, ['-f']);
    } catch (err) {
      throw new AgentError(`${command} -f: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'command not found' : (err as Error).message}`);
    }
    if (result.code !== 0) throw new AgentError(`${command} -f failed: ${result.stderr.trim() || `exit code ${result.code}`}`);
  }
}
