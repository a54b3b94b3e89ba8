// Debian's tinyproxy for the proxy journeys: a real CONNECT proxy, started per test on
// 127.0.0.1 with a generated config in a temp dir (foreground, log file and pid file there, no
// syslog) and stopped after, also when the test fails or the process exits. It only ever reaches
// 127.0.0.1/localhost: a default-deny filter lists those two names alone, and ConnectPort allows
// only the ports the test names (its own server's). Without the binary the tests that need it
// are skipped with one line; ELEMENTAL_REQUIRE_PROXY=1 (set by .ci/run) makes that a failure.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { delimiter, join } from 'node:path';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { deadPort } from './connect-proxy';
import { tempDir } from './temp';

export interface TinyproxyOptions {
  /** The only ports CONNECT may reach (tinyproxy answers 403 "Access violation" to others). */
  connectPorts: number[];
  /** Require Basic proxy authentication with this user and password. */
  basicAuth?: { user: string; password: string };
}

export interface Tinyproxy {
  port: number;
  /** tinyproxy's own log so far (LogLevel Connect: one line per connection and per request). */
  log(): string;
  /** The request lines tinyproxy logged ("CONNECT 127.0.0.1:443 HTTP/1.1"), in order. */
  requests(): string[];
  close(): Promise<void>;
}

/** tinyproxy's path on PATH, or undefined. */
export function findTinyproxy(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'tinyproxy');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  return undefined;
}

const REQUIRED = process.env.ELEMENTAL_REQUIRE_PROXY === '1';
let skipSaid = false;

/**
 * Registers `fn` as a uvu test that needs tinyproxy: skipped with one line when the binary is
 * missing, unless ELEMENTAL_REQUIRE_PROXY=1, where the missing binary fails the test.
 */
export function tinyproxyTest(test: Test, name: string, fn: () => Promise<void>): void {
  if (findTinyproxy()) {
    test(name, fn);
  } else if (REQUIRED) {
    test(name, () => assert.unreachable('ELEMENTAL_REQUIRE_PROXY=1 but tinyproxy is not on PATH (apt-get install tinyproxy)'));
  } else {
    if (!skipSaid) console.log('SKIP proxy journeys against tinyproxy: tinyproxy is not on PATH (apt-get install tinyproxy)');
    skipSaid = true;
    test.skip(name, fn);
  }
}

// Every running tinyproxy, killed when the test process exits however it exits.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const START_ATTEMPTS = 3;
const READY_MS = 5000;
const STOP_MS = 3000;

export async function startTinyproxy(o: TinyproxyOptions): Promise<Tinyproxy> {
  const binary = findTinyproxy();
  if (!binary) throw new Error('tinyproxy is not on PATH');
  if (o.connectPorts.length === 0 || o.connectPorts.some((p) => !Number.isInteger(p) || p <= 0)) {
    throw new Error(`startTinyproxy: connectPorts must name the test server's ports (${o.connectPorts.join(', ')})`);
  }
  let lastError: Error | undefined;
  // The port is picked free, then bound by tinyproxy: another process may take it in between.
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const dir = tempDir('elemental-tinyproxy-');
    try {
      return await startOnce(binary, dir, await deadPort(), o);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      lastError = err as Error;
    }
  }
  throw lastError ?? new Error('tinyproxy did not start');
}

async function startOnce(binary: string, dir: string, port: number, o: TinyproxyOptions): Promise<Tinyproxy> {
  const logFile = join(dir, 'tinyproxy.log');
  const filter = join(dir, 'filter');
  // Whole-name matches (ERE): CONNECT and plain requests to any other host get 403 "Filtered".
  writeFileSync(filter, '^127\\.0\\.0\\.1$\n^localhost$\n');
  const lines = [
    'Listen 127.0.0.1',
    `Port ${port}`,
    'Timeout 30',
    `LogFile "${logFile}"`,
    'LogLevel Connect',
    `PidFile "${join(dir, 'tinyproxy.pid')}"`,
    'MaxClients 20',
    'Allow 127.0.0.1',
    `Filter "${filter}"`,
    'FilterType ere',
    'FilterDefaultDeny Yes',
    ...o.connectPorts.map((p) => `ConnectPort ${p}`),
    ...(o.basicAuth ? [`BasicAuth ${o.basicAuth.user} ${o.basicAuth.password}`] : []),
  ];
  const config = join(dir, 'tinyproxy.conf');
  writeFileSync(config, `${lines.join('\n')}\n`);
  const child = spawn(binary, ['-d', '-c', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      output += String(err);
      running.delete(child);
      resolve();
    });
  });
  let alive = true;
  void exited.then(() => (alive = false));
  const readLog = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (alive) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_MS);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_MS;
  while (!(await accepts(port))) {
    if (!alive || Date.now() > deadline) {
      await stop();
      throw new Error(`tinyproxy did not accept on 127.0.0.1:${port} within ${READY_MS} ms: ${(output || readLog()).trim().slice(-1000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    log: readLog,
    requests: () => [...readLog().matchAll(/\]: Request \(file descriptor \d+\): (.*)$/gm)].map((m) => m[1] ?? ''),
    close: stop,
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
