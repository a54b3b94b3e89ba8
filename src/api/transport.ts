// HTTP(S) transport for the API client: one connection per request (Connection: close), opened
// by us — direct, through an HTTP proxy (absolute-form request) or through a CONNECT tunnel —
// and handed to http.request via createConnection with NO agent. (Node's https.request
// ignores createConnection when `agent: false` is passed too: a tunnel built that way
// silently goes direct.) One deadline covers DNS, connect, proxy, TLS and the whole response.
import { request as httpRequest, type IncomingHttpHeaders, type ClientRequest } from 'node:http';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { printable } from '../errors';
import { StopRequested } from '../signals';
import type { Proxy } from './proxy';
import type { TlsTrust } from './tls';

export type TransportErrorKind = 'timeout' | 'network' | 'tls' | 'proxy' | 'too-large';

/** A failure below HTTP: the message is one line, without the operation (the client adds it). */
export class TransportError extends Error {
  readonly kind: TransportErrorKind;
  readonly code: string | undefined;
  constructor(kind: TransportErrorKind, message: string, code?: string) {
    super(message);
    this.name = 'TransportError';
    this.kind = kind;
    this.code = code;
  }
}

export interface TransportOptions {
  tls: TlsTrust;
  /** The proxy for this client's origin (see proxyFor), if any. */
  proxy?: Proxy | undefined;
  timeoutMs: number;
  /** Cap on a response body, unless the request sets its own. */
  maxResponseBytes: number;
  /** Aborts in-flight requests (SIGTERM/SIGINT): they reject with StopRequested at once. */
  signal?: AbortSignal | undefined;
}

export interface TransportRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: Buffer | undefined;
  /** When the status differs, only a short prefix of the body is read (it is for logs). */
  expectStatus?: number | undefined;
  /** This request's cap on the body, named in the error (e.g. "registration and host answers"). */
  limit?: ResponseLimit | undefined;
}

export interface ResponseLimit {
  bytes: number;
  /** What the limit is for, as the message says it: "the 8 MiB limit for <for>". */
  for: string;
}

export interface TransportResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Bytes of an unexpected-status body kept for debug logs. */
const ERROR_BODY_BYTES = 4096;
/** Cap on a proxy's answer to CONNECT. */
const PROXY_HEADER_BYTES = 16 * 1024;

/** OpenSSL verification failures that mean "the issuer is not trusted". */
const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
]);

type Sockets = Array<Socket | TLSSocket>;

export class Transport {
  readonly #o: TransportOptions;

  constructor(o: TransportOptions) {
    this.#o = o;
  }

  request(r: TransportRequest): Promise<TransportResponse> {
    const { timeoutMs } = this.#o;
    const cap: ResponseLimit = r.limit ?? { bytes: this.#o.maxResponseBytes, for: 'responses' };
    return new Promise<TransportResponse>((resolve, reject) => {
      const sockets: Sockets = [];
      let req: ClientRequest | undefined;
      let settled = false;
      const cleanupHooks: (() => void)[] = [];
      const cleanup = () => {
        settled = true;
        for (const hook of cleanupHooks) hook();
        clearTimeout(timer);
        req?.destroy();
        for (const s of sockets) s.destroy();
      };
      const fail = (err: Error) => {
        if (settled) return;
        cleanup();
        reject(err);
      };
      const succeed = (res: TransportResponse) => {
        if (settled) return;
        cleanup();
        resolve(res);
      };
      const timer = setTimeout(() => fail(new TransportError('timeout', `request timed out after ${timeoutMs} ms`)), timeoutMs);
      const { signal } = this.#o;
      if (signal) {
        const onAbort = () => fail(new StopRequested());
        if (signal.aborted) onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        cleanupHooks.push(() => signal.removeEventListener('abort', onAbort));
      }

      this.#open(r.url, sockets).then((socket) => {
        if (settled) {
          socket.destroy();
          return;
        }
        const viaHttpProxy = this.#o.proxy !== undefined && r.url.protocol === 'http:';
        const headers: Record<string, string> = { Host: r.url.host, ...r.headers };
        if (r.body) headers['Content-Length'] = String(r.body.length);
        if (viaHttpProxy && this.#o.proxy?.authorization) headers['Proxy-Authorization'] = this.#o.proxy.authorization;
        // Absolute-form through an HTTP proxy, origin-form otherwise.
        const path = viaHttpProxy ? `${r.url.origin}${r.url.pathname}${r.url.search}` : `${r.url.pathname}${r.url.search}`;
        const onSocketError = (err: Error) => fail(networkError(err));
        try {
          req = httpRequest({
            method: r.method,
            path,
            headers,
            setHost: false,
            // No `agent` key at all: with createConnection and no agent, Node uses this socket.
            createConnection: () => socket,
          });
        } catch (err) {
          fail(new TransportError('network', err instanceof Error ? err.message : String(err)));
          return;
        }
        req.on('error', onSocketError);
        req.on('response', (res) => {
          const status = res.statusCode ?? 0;
          const unexpected = r.expectStatus !== undefined && status !== r.expectStatus;
          const limit = unexpected ? ERROR_BODY_BYTES : cap.bytes;
          const done = (body: Buffer) => succeed({ status, headers: res.headers, body });
          const declared = Number(res.headers['content-length']);
          if (!unexpected && Number.isFinite(declared) && declared > limit) {
            fail(tooLarge(cap));
            return;
          }
          // With a declared length the body is copied into one buffer as it arrives, so a big
          // response (a 10 MB bootstrap) is held once, not as chunks plus their concatenation.
          const sized = !unexpected && Number.isFinite(declared) && declared > 0 ? Buffer.allocUnsafe(declared) : undefined;
          const chunks: Buffer[] = [];
          let total = 0;
          res.on('data', (chunk: Buffer) => {
            if (settled) return;
            if (total + chunk.length > limit || (sized && total + chunk.length > sized.length)) {
              if (!unexpected) {
                fail(tooLarge(cap));
                return;
              }
              chunks.push(chunk.subarray(0, limit - total));
              done(Buffer.concat(chunks));
              return;
            }
            if (sized) chunk.copy(sized, total);
            else chunks.push(chunk);
            total += chunk.length;
          });
          res.on('end', () => done(sized ? sized.subarray(0, total) : Buffer.concat(chunks)));
          // Node reports a truncated body as an 'aborted' error (ECONNRESET).
          res.on('error', () => fail(new TransportError('network', 'connection closed before the response was complete')));
          res.on('close', () => {
            if (!res.complete) fail(new TransportError('network', 'connection closed before the response was complete'));
          });
        });
        req.end(r.body);
      }, (err: unknown) => fail(networkError(err instanceof Error ? err : new Error(String(err)))));
    });
  }

  /** A connected socket to the API (TLS established for https), possibly through the proxy. */
  async #open(url: URL, sockets: Sockets): Promise<Socket | TLSSocket> {
    const { proxy } = this.#o;
    const host = bare(url.hostname);
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    if (!proxy) {
      if (url.protocol === 'http:') return connected(track(sockets, netConnect({ host, port })), 'connect');
      return this.#tls(sockets, { host, port });
    }
    // To the proxy first.
    let toProxy: Socket | TLSSocket;
    try {
      toProxy =
        proxy.protocol === 'https:'
          ? await this.#tls(sockets, { host: proxy.hostname, port: proxy.port })
          : await connected(track(sockets, netConnect({ host: proxy.hostname, port: proxy.port })), 'connect');
    } catch (err) {
      throw new TransportError(err instanceof TransportError ? err.kind : 'proxy', `proxy ${proxy.display}: ${(err as Error).message}`);
    }
    if (url.protocol === 'http:') return toProxy;
    const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    await tunnel(toProxy, authority, proxy);
    return this.#tls(sockets, { host, port, socket: toProxy });
  }

  /** TLS with this client's trust; verification against `host` (SNI only for names, not IPs). */
  async #tls(sockets: Sockets, o: { host: string; port: number; socket?: Socket | TLSSocket }): Promise<TLSSocket> {
    const { tls } = this.#o;
    const socket = track(
      sockets,
      tlsConnect({
        host: o.host,
        port: o.port,
        ...(o.socket ? { socket: o.socket } : {}),
        ...(isIP(o.host) === 0 ? { servername: o.host } : {}),
        secureContext: tls.secureContext(),
        rejectUnauthorized: tls.rejectUnauthorized,
      }),
    );
    try {
      return await connected(socket, 'secureConnect');
    } catch (err) {
      if (err instanceof TransportError) throw err;
      const e = err as NodeJS.ErrnoException;
      if (e.syscall !== undefined) throw networkError(e);
      const code = e.code;
      // OpenSSL's text can carry the server certificate's names: escaped, cut.
      let message = `TLS handshake with ${o.host}:${o.port} failed: ${printable(e.message, 300)}`;
      if (code && UNTRUSTED_CODES.has(code)) message += `; ${tls.verifyHint()}`;
      throw new TransportError('tls', message, code);
    }
  }
}

function track<T extends Socket | TLSSocket>(sockets: Sockets, socket: T): T {
  sockets.push(socket);
  // Errors after the request settled must not crash the process: the request's own
  // listeners report what matters.
  socket.on('error', () => {});
  return socket;
}

/** Resolves when `event` fires, rejects on error or close before it. */
function connected<T extends Socket | TLSSocket>(socket: T, event: 'connect' | 'secureConnect'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanup = () => {
      socket.off(event, onEvent);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onEvent = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new TransportError('network', 'connection closed'));
    };
    socket.on(event, onEvent);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}

/** Sends CONNECT over a socket to the proxy and waits for a 2xx answer. */
function tunnel(socket: Socket | TLSSocket, authority: string, proxy: Proxy): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const cleanup = () => {
      socket.off('readable', onReadable);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const failWith = (message: string, kind: TransportErrorKind = 'proxy') => {
      cleanup();
      reject(new TransportError(kind, `proxy ${proxy.display}: ${message}`));
    };
    const onError = (err: Error) => failWith(err.message, 'network');
    const onClose = () => failWith(`connection closed before the answer to CONNECT ${authority}`);
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        buffer = Buffer.concat([buffer, chunk]);
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) {
          if (buffer.length > PROXY_HEADER_BYTES) return failWith(`answer to CONNECT ${authority} is too large`);
          continue;
        }
        const statusLine = buffer.subarray(0, end).toString('latin1').split('\r\n', 1)[0] ?? '';
        const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
        if (!m) return failWith(`invalid answer to CONNECT ${authority}`);
        const status = Number(m[1]);
        if (status < 200 || status > 299) {
          return failWith(`CONNECT ${authority} returned code '${status}'${m[2] ? ` (${printable(m[2], 80)})` : ''}${authHint(status, proxy)}`);
        }
        // The TLS client speaks first: nothing may follow the proxy's answer yet.
        if (buffer.length > end + 4) return failWith(`unexpected data after the answer to CONNECT ${authority}`);
        cleanup();
        resolve();
        return;
      }
    };
    socket.on('readable', onReadable);
    socket.on('error', onError);
    socket.on('close', onClose);
    const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
    if (proxy.authorization) lines.push(`Proxy-Authorization: ${proxy.authorization}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/**
 * What a refused CONNECT means for the proxy URL's credentials. A CONNECT never reaches the
 * API, so a 401 is the proxy's too: tinyproxy answers missing credentials with 407 and wrong
 * ones with 401 Unauthorized.
 */
function authHint(status: number, proxy: Proxy): string {
  if (status !== 407 && status !== 401) return '';
  return proxy.authorization
    ? ': the proxy did not accept the user and password in the proxy URL'
    : ': the proxy asks for a user and password: put them in the proxy URL (http://user:password@host:port, percent-encoded)';
}

function networkError(err: Error): TransportError {
  if (err instanceof TransportError) return err;
  if (err.message === 'socket hang up') {
    return new TransportError('network', 'the server closed the connection without answering (socket hang up)', 'ECONNRESET');
  }
  return new TransportError('network', printable(err.message.replace(/\s*\n\s*/g, ' '), 300), (err as NodeJS.ErrnoException).code);
}

function tooLarge(limit: ResponseLimit): TransportError {
  const size = limit.bytes >= 1024 * 1024 ? `${Math.round(limit.bytes / (1024 * 1024))} MiB` : `${limit.bytes} bytes`;
  return new TransportError('too-large', `the answer is too large: more than the ${size} limit for ${limit.for}; reading stopped there`);
}

/** URL.hostname keeps IPv6 brackets; sockets want them off. */
function bare(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}
