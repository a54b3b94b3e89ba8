// The project's own CONNECT proxy double, on 127.0.0.1. The proxy journeys (CONNECT tunnel,
// NO_PROXY, proxy auth, refusals) run against Debian's tinyproxy (test/support/tinyproxy.ts);
// this double is kept only for what a real proxy cannot be made to do here:
// - map any name to the test server: it tunnels to `upstream()` on 127.0.0.1 WHATEVER host and
//   port were asked for, so a URL naming a host no resolver knows (wrong.example, for the TLS
//   name check) or a dead port still arrives (tinyproxy would resolve and connect to it);
// - be an https:// proxy (TLS to the proxy itself, TLS in TLS): tinyproxy speaks plain HTTP only.
// It records each request line and its headers, and never connects anywhere but 127.0.0.1.
import * as net from 'node:net';
import * as tls from 'node:tls';

export interface ConnectProxy {
  port: number;
  /** Each request line and its headers, in arrival order. */
  seen: Array<{ line: string; headers: string[] }>;
  close(): Promise<void>;
}

export interface ConnectProxyOptions {
  /** Serve the proxy itself over TLS with this key and certificate (an `https://` proxy). */
  tls?: { key: string; cert: string };
}

export async function startConnectProxy(upstream: () => number, o: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  const sockets = new Set<net.Socket>();
  const proxy: ConnectProxy = { port: 0, seen: [], close: async () => undefined };
  const onClient = (client: net.Socket) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      client.off('data', onData);
      const [line = '', ...headers] = buffer.subarray(0, end).toString('latin1').split('\r\n');
      proxy.seen.push({ line, headers });
      if (!line.startsWith('CONNECT ')) {
        client.end('HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const up = net.connect(upstream(), '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        const rest = buffer.subarray(end + 4);
        if (rest.length) up.write(rest);
        client.pipe(up);
        up.pipe(client);
      });
      sockets.add(up);
      up.on('close', () => sockets.delete(up));
      up.on('error', () => client.destroy());
      client.on('close', () => up.destroy());
    };
    client.on('data', onData);
  };
  const server = o.tls ? tls.createServer({ key: o.tls.key, cert: o.tls.cert }, onClient) : net.createServer(onClient);
  proxy.port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return proxy;
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  const port = await new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)));
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
