// Proxy selection from the environment, with Go's net/http/httpproxy rules:
// HTTPS_PROXY/https_proxy for https URLs, HTTP_PROXY/http_proxy for http URLs (upper case
// first), NO_PROXY/no_proxy excluding hosts. A proxy value without a scheme is http://.
// Unlike Go, loopback hosts are not exempted implicitly: list them in NO_PROXY.
import { BlockList, isIP } from 'node:net';
import { AgentError, printable } from '../errors';

export interface Proxy {
  protocol: 'http:' | 'https:';
  /** Host name or IP, without IPv6 brackets. */
  hostname: string;
  port: number;
  /** `Basic ...` when the proxy URL carries credentials. */
  authorization?: string;
  /** The proxy URL without credentials, for messages and logs. */
  display: string;
}

function getEnv(env: NodeJS.ProcessEnv, ...names: string[]): string {
  for (const name of names) {
    const v = env[name];
    if (v) return v;
  }
  return '';
}

/** The proxy to use for `target` (the API URL), or undefined to connect directly. */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv): Proxy | undefined {
  const value =
    target.protocol === 'https:'
      ? getEnv(env, 'HTTPS_PROXY', 'https_proxy')
      : target.protocol === 'http:'
        ? getEnv(env, 'HTTP_PROXY', 'http_proxy')
        : '';
  if (!value.trim()) return undefined;
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  if (noProxyMatches(getEnv(env, 'NO_PROXY', 'no_proxy'), stripBrackets(target.hostname), port)) return undefined;
  return parseProxy(value.trim());
}

/** Parses a proxy URL; an unsupported or unparsable one is an AgentError (credentials never shown). */
export function parseProxy(value: string): Proxy {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  // A '/', '?' or '#' before the last '@' is a password the URL parser would split (its tail
  // taken for the host, its head for user:port): refused, and nothing of it shown.
  const at = withScheme.lastIndexOf('@');
  if (at !== -1 && /[/?#\\]/.test(withScheme.slice(withScheme.indexOf('//') + 2, at))) {
    throw new AgentError(
      `invalid proxy URL '${hideCredentials(value)}' in the environment (HTTPS_PROXY/HTTP_PROXY): ` +
        "percent-encode any '/', '?', '#', '\\' or '@' in the user name and password",
    );
  }
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new AgentError(`invalid proxy URL '${hideCredentials(value)}' in the environment (HTTPS_PROXY/HTTP_PROXY)`);
  }
  const display = `${url.protocol}//${url.host}`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AgentError(`proxy '${hideCredentials(value)}': unsupported scheme '${printable(url.protocol.slice(0, -1), 20)}', use 'http' or 'https'`);
  }
  if (!url.hostname) throw new AgentError(`invalid proxy URL '${display}' in the environment: no host`);
  const proxy: Proxy = {
    protocol: url.protocol,
    hostname: stripBrackets(url.hostname),
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    display,
  };
  if (url.username || url.password) {
    const credentials = `${safeDecode(url.username)}:${safeDecode(url.password)}`;
    proxy.authorization = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
  }
  return proxy;
}

/**
 * NO_PROXY matching (Go's httpproxy): comma-separated entries; `*` matches everything; an IP
 * or CIDR matches addresses; `host:port` / `[v6]:port` restrict to a port; `example.com`
 * matches the domain and its subdomains, `.example.com` (or `*.example.com`) subdomains only.
 */
export function noProxyMatches(noProxy: string, host: string, port: string): boolean {
  const h = stripBrackets(host.toLowerCase().trim()).replace(/\.$/, '');
  const family = isIP(h);
  for (const raw of noProxy.split(',')) {
    const p = raw.toLowerCase().trim();
    if (!p) continue;
    if (p === '*') return true;
    // CIDR.
    const cidr = /^([0-9a-f:.]+)\/(\d{1,3})$/.exec(p);
    if (cidr) {
      const net = cidr[1] ?? '';
      const netFamily = isIP(net);
      if (netFamily !== 0) {
        if (family === netFamily) {
          const list = new BlockList();
          try {
            list.addSubnet(net, Number(cidr[2]), netFamily === 6 ? 'ipv6' : 'ipv4');
            if (list.check(h, family === 6 ? 'ipv6' : 'ipv4')) return true;
          } catch {
            /* bad prefix length: ignore the entry, like Go */
          }
        }
        continue;
      }
    }
    let phost = p;
    let pport = '';
    const bracketed = /^\[([^\]]*)\](?::(\d*))?$/.exec(p);
    if (bracketed) {
      phost = bracketed[1] ?? '';
      pport = bracketed[2] ?? '';
    } else if (isIP(p) === 0) {
      const hostPort = /^([^:]*):(\d*)$/.exec(p);
      if (hostPort) {
        phost = hostPort[1] ?? '';
        pport = hostPort[2] ?? '';
      }
    }
    if (!phost) continue;
    const portOk = pport === '' || pport === port;
    const pFamily = isIP(phost);
    if (pFamily !== 0) {
      if (family !== 0 && portOk && sameIp(h, family, phost, pFamily)) return true;
      continue;
    }
    if (phost.startsWith('*.')) phost = phost.slice(1);
    phost = phost.replace(/\.$/, '');
    const subdomainsOnly = phost.startsWith('.');
    const suffix = subdomainsOnly ? phost : `.${phost}`;
    if ((h.endsWith(suffix) || (!subdomainsOnly && h === phost)) && portOk) return true;
  }
  return false;
}

function sameIp(a: string, aFamily: number, b: string, bFamily: number): boolean {
  const list = new BlockList();
  list.addAddress(b, bFamily === 6 ? 'ipv6' : 'ipv4');
  return list.check(a, aFamily === 6 ? 'ipv6' : 'ipv4');
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * A proxy value for messages: everything up to the last `@` removed, whatever the userinfo
 * holds (an unencoded `/` or `@` in a password made the old pattern miss it), control
 * characters escaped.
 */
export function hideCredentials(value: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value)?.[0] ?? '';
  const at = value.lastIndexOf('@');
  return printable(at === -1 ? value : scheme + value.slice(Math.max(at + 1, scheme.length)), 200);
}
