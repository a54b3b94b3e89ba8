// The host's identity (SPEC: identity): an Ed25519 key pair, the public half sent to the
// Elemental API at registration, the private half signing a short-lived JWT for every
// request about the host. No JWT library: the token is three base64url segments.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { AgentError, errorMessage } from './errors';
import { writeFileAtomic } from './fs';
import { log } from './log';

// Exactly these bytes, in this key order.
const JWT_HEADER = Buffer.from('{"alg":"EdDSA","typ":"JWT"}', 'utf8').toString('base64url');

/** Seconds a host token is valid after it is issued. */
export const HOST_TOKEN_TTL_SECONDS = 60;
/** Seconds `nbf` lies before `iat`, for a server clock slightly behind ours. */
export const HOST_TOKEN_SKEW_SECONDS = 2;

export interface HostTokenOptions {
  /** `iss`: the agent's User-Agent string. */
  issuer: string;
  /** `sub`: the host name the request is about. */
  subject: string;
  /** `aud`: the registration URI (sent as a one-element array). */
  audience: string;
  /** Current time in seconds (tests); defaults to the clock. */
  now?: number;
}

export class Identity {
  readonly #privateKey: KeyObject;
  #publicPem: string | undefined;

  private constructor(privateKey: KeyObject) {
    this.#privateKey = privateKey;
  }

  /** A new key pair, in memory only. */
  static generate(): Identity {
    const { privateKey } = generateKeyPairSync('ed25519');
    return new Identity(privateKey);
  }

  /**
   * Parses a PEM private key. `source` names where it came from (a file path) for the error
   * message; the message never contains key material.
   */
  static fromPem(pem: string, source: string): Identity {
    const remedy = `remove it to let the agent create a new one`;
    if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) {
      throw new AgentError(`private key ${source} is not a PEM private key (expected an Ed25519 "PRIVATE KEY"): ${remedy}`);
    }
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
      throw new AgentError(`private key ${source} is encrypted, the agent needs an unencrypted Ed25519 key: ${remedy}`);
    }
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: 'pem' });
    } catch (err) {
      // OpenSSL's reason (no key material in it) is for --debug only.
      log.debug(`parsing private key ${source}: ${errorMessage(err)}`);
      throw new AgentError(`private key ${source} is corrupt or truncated (cannot parse it as an Ed25519 PKCS#8 "PRIVATE KEY"): ${remedy}`);
    }
    if (key.asymmetricKeyType !== 'ed25519') {
      const kind = (key.asymmetricKeyType ?? 'unknown').toUpperCase();
      throw new AgentError(`private key ${source} holds an ${kind} key, the agent needs an Ed25519 key: ${remedy}`);
    }
    return new Identity(key);
  }

  /**
   * Loads the key file at `path` (a path on this machine, --root already applied).
   * Returns undefined when the file does not exist; any other problem is an AgentError.
   */
  static load(path: string): Identity | undefined {
    const pem = readOptional(path, 'private key');
    return pem === undefined ? undefined : Identity.fromPem(pem, path);
  }

  /** PKCS#8 PEM ("PRIVATE KEY"), ending with a newline. */
  privateKeyPem(): string {
    return withNewline(this.#privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  }

  /** SPKI PEM ("PUBLIC KEY"), ending with a newline: what the API stores as the host's pubKey. */
  publicKeyPem(): string {
    this.#publicPem ??= withNewline(createPublicKey(this.#privateKey).export({ type: 'spki', format: 'pem' }).toString());
    return this.#publicPem;
  }

  /** A host token: EdDSA JWT with iss, sub, aud (array), iat, nbf = iat - 2, exp = iat + 60. */
  signHostToken(o: HostTokenOptions): string {
    const now = Math.floor(o.now ?? Date.now() / 1000);
    const claims = {
      iss: o.issuer,
      sub: o.subject,
      aud: [o.audience],
      iat: now,
      nbf: now - HOST_TOKEN_SKEW_SECONDS,
      exp: now + HOST_TOKEN_TTL_SECONDS,
    };
    const signingInput = `${JWT_HEADER}.${Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')}`;
    const signature = sign(null, Buffer.from(signingInput, 'utf8'), this.#privateKey);
    return `${signingInput}.${signature.toString('base64url')}`;
  }
}

/** The text of `path`; undefined when it does not exist, an AgentError naming `what` otherwise. */
function readOptional(path: string, what: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new AgentError(`cannot read ${what} ${path}: ${code ?? errorMessage(err)}`);
  }
}

function withNewline(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}

/**
 * The identity and host name of a registration that has not been finalized (SPEC §4), in the
 * work dir. Written atomically (0600) before the create-host POST, so that a register killed
 * between the POST and finalize is resumed by the next one (it probes that name first and
 * adopts the host) instead of leaving the created host behind. Not `private.key`, whose presence
 * means "registered" to the example units. Removed once finalize has written private.key.
 */
export const PENDING_REGISTRATION_FILE = 'pending-registration.json';
export const PENDING_REGISTRATION_MODE = 0o600;

export interface PendingRegistration {
  name: string;
  identity: Identity;
}

/** Persists a pending registration at `path` (on this machine, --root applied). */
export function savePendingRegistration(path: string, pending: PendingRegistration): void {
  const text = `${JSON.stringify({ name: pending.name, privateKey: pending.identity.privateKeyPem() }, null, 2)}\n`;
  writeFileAtomic(path, text, PENDING_REGISTRATION_MODE);
}

/**
 * Loads the pending registration at `path`; undefined when there is none. A file that is not
 * one (the agent writes it atomically, so only a hand edit gets here) is an AgentError.
 */
export function loadPendingRegistration(path: string): PendingRegistration | undefined {
  const text = readOptional(path, 'pending registration');
  if (text === undefined) return undefined;
  const remedy = 'remove it to register anew (a host it had created stays on the server)';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AgentError(`pending registration ${path} is not JSON: ${remedy}`);
  }
  const record = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const name = Object.hasOwn(record, 'name') ? record.name : undefined;
  const privateKey = Object.hasOwn(record, 'privateKey') ? record.privateKey : undefined;
  if (typeof name !== 'string' || name === '' || typeof privateKey !== 'string') {
    throw new AgentError(`pending registration ${path} lacks its name or key: ${remedy}`);
  }
  return { name, identity: Identity.fromPem(privateKey, path) };
}

/** Removes a pending registration file; absent is fine. */
export function removePendingRegistration(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
