// Logging through consola's core (no fancy reporter in the bundle): plain lines on stderr,
// with every line passed through a redaction guard so that registration tokens, host JWTs
// and private keys never reach journald, a serial console or a support bundle.
import { createConsola, type ConsolaInstance, type LogObject } from 'consola/core';
import { format } from 'node:util';

const REDACTED = '[REDACTED]';
const secrets = new Set<string>();

// A JWT: three base64url segments, the first one a JSON header ("eyJ" = '{"').
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
// Any PEM block; public keys and certificates are not secret, but a log line has no use for
// their bodies either, and one rule is harder to get wrong than a list.
const PEM_PATTERN = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?(-----END \1-----|$)/g;

/** Registers a value that must never be logged verbatim (e.g. the registration token). */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 8) secrets.add(value);
}

/** Replaces secrets, JWTs and PEM bodies in a string. */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out.replace(JWT_PATTERN, REDACTED).replace(PEM_PATTERN, (_m, label: string) => `-----BEGIN ${label}----- ${REDACTED}`);
}

const LEVEL_NAMES: Record<number, string> = { 0: 'ERROR', 1: 'WARN', 2: 'NOTICE', 3: 'INFO', 4: 'DEBUG', 5: 'TRACE' };
const COLOURS: Record<string, string> = { ERROR: '\x1b[31m', WARN: '\x1b[33m', DEBUG: '\x1b[90m' };

let sink: (line: string) => void = (line) => process.stderr.write(line);

/** Tests capture log output through this. Returns a function restoring the previous sink. */
export function setLogSink(write: (line: string) => void): () => void {
  const previous = sink;
  sink = write;
  return () => {
    sink = previous;
  };
}

function render(logObj: LogObject): string {
  const level = LEVEL_NAMES[logObj.level] ?? 'INFO';
  const text = redact(format(...logObj.args.map((a) => (a instanceof Error ? a.message : a))));
  const tty = process.stderr.isTTY === true && !process.env.NO_COLOR;
  const colour = tty ? COLOURS[level] : undefined;
  const tag = level.padEnd(5);
  return colour ? `${colour}${tag}\x1b[0m ${text}\n` : `${tag} ${text}\n`;
}

export const log: ConsolaInstance = createConsola({
  level: 3,
  reporters: [{ log: (logObj) => sink(render(logObj)) }],
});

export function setDebug(enabled: boolean): void {
  log.level = enabled ? 4 : 3;
}

export function isDebug(): boolean {
  return log.level >= 4;
}
