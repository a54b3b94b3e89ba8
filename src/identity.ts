// The host's identity (SPEC: identity): an Ed25519 key pair, the public half sent to the
// Elemental API at registration, the private half signing a short-lived JWT for every
// request about the host. No JWT library: the token is three base64url segments.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AgentError, errorMessage } from './errors';
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
    let pem: string;
    try {
      pem = readFileSync(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw new AgentError(`cannot read private key ${path}: ${code ?? errorMessage(err)}`);
    }
    return Identity.fromPem(pem, path);
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

function withNewline(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}
