// The Dummy OS plugin (the seed): every OS operation becomes a well-known file that the
// operator's own automation (systemd path units, scripts) acts on.
import { dirname, isAbsolute, join } from 'node:path';
import { AgentError, quote } from '../errors';
import { ensureDir, fileExists, readIfExists, writeFileAtomic } from '../fs';
import { log } from '../log';
import { jsonToYaml, YamlLimitError } from '../yaml';
import type { OsPlugin, PluginContext } from './types';

export const CLOUD_INIT_FILE = 'cloud-init.yaml';
export const INSTALL_FILE = 'install.yaml';
export const OS_VERSION_FILE = 'os-version.yaml';
export const RESET_FILE = 'reset.yaml';
export const RESET_SENTINEL_FILE = 'needs.reset';
/** Bootstrap format → host path. A Map: the format is the server's ("__proto__" is no format). */
export const BOOTSTRAP_PATHS: ReadonlyMap<string, string> = new Map([
  ['cloud-config', '/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg'],
  ['ignition', '/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf'],
]);

/** os-version.yaml and needs.reset: nothing secret, and operators' units may read them. */
const FILE_MODE = 0o644;
/**
 * Files that may carry secrets (SPEC §11): the CAPI bootstrap (cluster join token, on control
 * planes the CA and service-account keys), cloud-init.yaml (user passwords), install.yaml and
 * reset.yaml. cloud-init runs as root and reads a 0600 file in /etc/cloud/cloud.cfg.d.
 */
const SECRET_FILE_MODE = 0o600;

/**
 * Bounds on what the server's free-form objects become (SPEC §11): far above any real config,
 * far below what exhausts a small device (a chain nested d levels deep is ~2·d² bytes of YAML:
 * 24 KB of JSON became a 32 MB file, 480 KB ran a 512 MiB heap out of memory).
 */
export const MAX_OBJECT_DEPTH = 256;
export const MAX_GENERATED_FILE_BYTES = 8 * 1024 * 1024;
const SYSTEM_DIR_MODE = 0o755;
const PRIVATE_DIR_MODE = 0o700;

export class DummyPlugin implements OsPlugin {
  private ctx: PluginContext | undefined;

  private get context(): PluginContext {
    if (!this.ctx) throw new AgentError('dummy plugin used before init');
    return this.ctx;
  }

  init(context: PluginContext): void {
    this.ctx = context;
    log.debug('initializing the dummy plugin');
    ensureDir(context.root.resolve(context.workDir), PRIVATE_DIR_MODE);
  }

  /** A file of the work dir, as the managed host names it. */
  private hostWorkPath(name: string): string {
    return isAbsolute(name) ? name : join(this.context.workDir, name);
  }

  /** A file of the work dir, on this machine (under --root). */
  private workFile(name: string): string {
    return this.context.root.resolve(this.hostWorkPath(name));
  }

  private dump(name: string, content: string, what: string, mode: number): void {
    const bytes = Buffer.byteLength(content);
    if (bytes > MAX_GENERATED_FILE_BYTES) {
      throw new AgentError(`${what} as YAML is ${bytes} bytes, more than the ${MAX_GENERATED_FILE_BYTES / (1024 * 1024)} MiB limit of a generated file`);
    }
    const path = this.workFile(name);
    log.debug(`writing ${what} to ${this.hostWorkPath(name)}`);
    ensureDir(dirname(path), PRIVATE_DIR_MODE);
    writeFileAtomic(path, content, mode);
  }

  private yamlOf(json: string, what: string): string {
    try {
      return jsonToYaml(json, { maxDepth: MAX_OBJECT_DEPTH, maxLength: MAX_GENERATED_FILE_BYTES });
    } catch (err) {
      const limit = err instanceof YamlLimitError ? ' (the limit for a server object)' : '';
      throw new AgentError(`converting ${what} to YAML: ${(err as Error).message}${limit}`);
    }
  }

  getHostname(): string {
    return this.context.host.currentHostname();
  }

  async persistHostname(name: string): Promise<void> {
    log.debug(`setting hostname ${name}`);
    await this.context.host.setHostname(name);
  }

  persistFile(content: string, path: string, mode: number): void {
    const target = this.context.root.resolve(path);
    ensureDir(dirname(target), PRIVATE_DIR_MODE);
    writeFileAtomic(target, content, mode);
  }

  applyCloudInit(json: string): void {
    this.dump(CLOUD_INIT_FILE, `#cloud-config\n${this.yamlOf(json, 'cloud config')}`, 'cloud config', SECRET_FILE_MODE);
  }

  install(json: string): void {
    this.dump(INSTALL_FILE, this.yamlOf(json, 'install config'), 'install config', SECRET_FILE_MODE);
  }

  bootstrap(format: string, config: Buffer): void {
    const hostPath = BOOTSTRAP_PATHS.get(format);
    if (!hostPath) throw new AgentError(`unsupported bootstrap format ${quote(format, 60)} (supported: ${[...BOOTSTRAP_PATHS.keys()].join(', ')})`);
    const path = this.context.root.resolve(hostPath);
    if (fileExists(path)) throw new AgentError(`bootstrap already applied: ${hostPath} exists`);
    ensureDir(dirname(path), SYSTEM_DIR_MODE);
    log.info(`writing ${format} bootstrap config to ${hostPath}`);
    writeFileAtomic(path, config, SECRET_FILE_MODE);
  }

  reconcileOSVersion(json: string): boolean {
    const content = this.yamlOf(json, 'OS version management');
    // Before bootstrap this runs every reconcile period: rewriting identical bytes would fsync
    // the disk every 10 s and fire the operator's PathChanged= units for nothing.
    if (readIfExists(this.workFile(OS_VERSION_FILE)) === content) {
      log.debug(`${OS_VERSION_FILE} is up to date`);
    } else {
      this.dump(OS_VERSION_FILE, content, 'OS version management', FILE_MODE);
    }
    return false; // the dummy never asks for a reboot
  }

  triggerReset(): void {
    log.info(`creating reset sentinel file ${join(this.context.workDir, RESET_SENTINEL_FILE)}`);
    this.dump(RESET_SENTINEL_FILE, '1\n', 'reset sentinel', FILE_MODE);
  }

  reset(json: string): void {
    this.dump(RESET_FILE, this.yamlOf(json, 'reset config'), 'reset config', SECRET_FILE_MODE);
    const sentinel = join(this.context.workDir, RESET_SENTINEL_FILE);
    if (fileExists(this.workFile(RESET_SENTINEL_FILE))) {
      throw new AgentError(`needs.reset still exists: ${sentinel} must be removed once the host is prepared for reset`);
    }
  }

  powerOff(): Promise<void> {
    return this.context.host.powerOff();
  }

  reboot(): Promise<void> {
    return this.context.host.reboot();
  }
}
