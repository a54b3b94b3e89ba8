// TLS trust for the Elemental API: exactly the CAs the configuration names (registration.caCert,
// and the system pool only with agent.useSystemCertPool). Node's bundled Mozilla roots are
// never used: the secure context is built with an explicit (possibly empty) CA list.
import { X509Certificate } from 'node:crypto';
import { closeSync, constants as fsConstants, fstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { isAbsolute, join } from 'node:path';
import { AgentError, LocalDetailError, errorMessage, quote } from '../errors';
import type { HostRoot } from '../fs';
import { log } from '../log';

/** Go's crypto/x509 bundle locations on Linux, first existing one wins. */
export const SYSTEM_CERT_FILES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian/Ubuntu/Gentoo etc.
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora/RHEL 6
  '/etc/ssl/ca-bundle.pem', // OpenSUSE
  '/etc/pki/tls/cacert.pem', // OpenELEC
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // CentOS/RHEL 7
  '/etc/ssl/cert.pem', // Alpine Linux
];
/** Go's certificate directories on Linux (overridden by SSL_CERT_DIR, a colon-separated list). */
export const SYSTEM_CERT_DIRS = ['/etc/ssl/certs', '/etc/pki/tls/certs'];

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export interface TlsTrustOptions {
  /** Inline PEM, or the host path of a PEM file (used when that file exists). */
  caCert?: string | undefined;
  useSystemCertPool?: boolean | undefined;
  insecureSkipTlsVerify?: boolean | undefined;
  /** Resolves the caCert path under --root. */
  root: HostRoot;
  /** SSL_CERT_FILE / SSL_CERT_DIR come from here (the agent's own environment, not under root). */
  env: NodeJS.ProcessEnv;
}

/** The trust settings of one client; the secure context is built on first use, then reused. */
export class TlsTrust {
  readonly rejectUnauthorized: boolean;
  readonly useSystemCertPool: boolean;
  /** The configured CA certificates (PEM blocks), validated. */
  readonly caCerts: readonly string[];
  readonly #env: NodeJS.ProcessEnv;
  #context: SecureContext | undefined;
  #systemCount = 0;

  constructor(o: TlsTrustOptions) {
    this.rejectUnauthorized = o.insecureSkipTlsVerify !== true;
    this.useSystemCertPool = o.useSystemCertPool === true;
    this.caCerts = o.caCert ? loadCaCert(o.caCert, o.root) : [];
    this.#env = o.env;
  }

  /** The secure context for every TLS connection of this client (built once). */
  secureContext(): SecureContext {
    if (this.#context) return this.#context;
    const ca = [...this.caCerts];
    if (this.useSystemCertPool) {
      const system = readSystemCerts(this.#env);
      this.#systemCount = system.length;
      ca.push(...system);
    }
    log.debug(`TLS trust: ${this.caCerts.length} configured CA certificate(s), ${this.#systemCount} from the system pool`);
    // An explicit list, even empty, replaces Node's bundled roots.
    this.#context = createSecureContext({ ca });
    return this.#context;
  }

  /** What to tell the operator when the server's certificate cannot be verified. */
  verifyHint(): string {
    if (this.caCerts.length === 0 && !this.useSystemCertPool) {
      return 'no CA is trusted: set registration.caCert or agent.useSystemCertPool';
    }
    if (this.caCerts.length === 0 && this.#context && this.#systemCount === 0) {
      return 'the system certificate pool is empty: set registration.caCert';
    }
    return 'the server certificate is not signed by a trusted CA: check registration.caCert or agent.useSystemCertPool';
  }
}

/** A caCert file is a bundle of a few CAs: anything bigger is not one (SPEC §11). */
export const MAX_CA_CERT_BYTES = 1024 * 1024;

/** What the server is told when a caCert file cannot be used: nothing about this host's files. */
const CA_FILE_FOR_SERVER = 'registration.caCert: cannot use the CA certificate file (the reason is in the agent log)';

/**
 * Reads registration.caCert: inline PEM, or the absolute host path of a PEM file.
 * Returns the certificate blocks; anything that is not a parsable certificate is an AgentError.
 */
export function loadCaCert(caCert: string, root: HostRoot): string[] {
  let text = caCert;
  let source = 'registration.caCert';
  let fromFile = false;
  if (!caCert.includes('-----BEGIN')) {
    const hostPath = caCert.trim();
    if (!isAbsolute(hostPath)) {
      throw new AgentError(
        `registration.caCert ${quote(hostPath, 60)} is neither a PEM certificate nor an absolute path: ` +
          'give the CA certificate inline or the absolute path of its PEM file',
      );
    }
    text = readCaFile(root.resolve(hostPath), hostPath);
    source = `registration.caCert file ${quote(hostPath)}`;
    fromFile = true;
  }
  try {
    return certificateBlocks(text, source);
  } catch (err) {
    if (fromFile && err instanceof AgentError) throw new LocalDetailError(err.message, CA_FILE_FOR_SERVER);
    throw err;
  }
}

/**
 * A caCert file's text. Opened non-blocking (a FIFO would block open() where no signal reaches
 * it), accepted only as a regular file (fstat on the handle: /dev/zero never ends), at most
 * MAX_CA_CERT_BYTES. Failures are LocalDetailErrors: the server may have sent the path.
 */
function readCaFile(path: string, hostPath: string): string {
  const what = `registration.caCert file ${quote(hostPath)}`;
  const refuse = (reason: string) => new LocalDetailError(`${what} ${reason}`, CA_FILE_FOR_SERVER);
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw refuse(code === 'ENOENT' ? 'does not exist: give the absolute path of a PEM file, or the certificate inline' : `cannot be opened: ${code ?? errorMessage(err)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refuse(`is not a regular file (${fileKind(st)}): give the path of a PEM file`);
    if (st.size > MAX_CA_CERT_BYTES) throw refuse(`is larger than ${MAX_CA_CERT_BYTES / (1024 * 1024)} MiB: it should hold a few PEM certificates`);
    // Read one byte past the limit: a file that grew since fstat is refused too.
    const buffer = Buffer.alloc(MAX_CA_CERT_BYTES + 1);
    let length = 0;
    for (let n; length < buffer.length && (n = readSync(fd, buffer, length, buffer.length - length, null)) > 0; ) length += n;
    if (length > MAX_CA_CERT_BYTES) throw refuse(`is larger than ${MAX_CA_CERT_BYTES / (1024 * 1024)} MiB: it should hold a few PEM certificates`);
    return buffer.toString('utf8', 0, length);
  } catch (err) {
    if (err instanceof AgentError) throw err;
    throw refuse(`cannot be read: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
  } finally {
    closeSync(fd);
  }
}

function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

function certificateBlocks(text: string, source: string): string[] {
  const blocks = text.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) {
    throw new AgentError(`${source} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  }
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (err) {
      log.debug(`parsing certificate ${i + 1} of ${source}: ${errorMessage(err)}`);
      throw new AgentError(`${source}: certificate ${i + 1} of ${blocks.length} is not a valid X.509 certificate`);
    }
  });
  return blocks;
}

/**
 * The system CA certificates as Go finds them on Linux: SSL_CERT_FILE or the first existing
 * bundle, plus every file of SSL_CERT_DIR (or the default directories). Paths of the
 * environment the agent runs in, read as they are (not under --root). Deduplicated.
 */
export function readSystemCerts(env: NodeJS.ProcessEnv): string[] {
  const seen = new Set<string>();
  const add = (text: string) => {
    for (const block of text.match(CERT_BLOCK) ?? []) seen.add(block);
  };
  const files = env.SSL_CERT_FILE ? [env.SSL_CERT_FILE] : SYSTEM_CERT_FILES;
  for (const file of files) {
    try {
      add(readFileSync(file, 'utf8'));
      break;
    } catch {
      /* next candidate */
    }
  }
  const dirs = env.SSL_CERT_DIR ? env.SSL_CERT_DIR.split(':').filter(Boolean) : SYSTEM_CERT_DIRS;
  for (const dir of dirs) {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      // Like Go: skip symlinks to another entry of the same directory (OpenSSL hash links).
      if (entry.isSymbolicLink()) {
        try {
          if (!readlinkSync(path).includes('/')) continue;
        } catch {
          continue;
        }
      } else if (!entry.isFile()) {
        continue;
      }
      try {
        add(readFileSync(path, 'utf8'));
      } catch {
        /* unreadable or a dangling link: skip */
      }
    }
  }
  return [...seen];
}
