// Logging through consola's core (no fancy reporter in the bundle): plain lines on stderr,
// with every line passed through a redaction guard so that registration tokens, host JWTs
// and private keys never reach journald, a serial console or a support bundle.
import { createConsola, type ConsolaInstance, type LogObject } from 'consola/core';
import { fstatSync } from 'node:fs';
import { isatty } from 'node:tty';
import { format } from 'node:util';
import { ANY_CONTROL_BUT_NEWLINE, escapeChar } from './errors';
import { writeStderr } from './output';

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
/** sd-daemon(3) priorities, which journald reads from the start of each line of a stream. */
const JOURNAL_PRIORITIES: Record<string, number> = { ERROR: 3, WARN: 4, NOTICE: 5, INFO: 6, DEBUG: 7, TRACE: 7 };

/**
 * How a line is decorated, by what stderr is: `journal` (priority prefix, no timestamp: journald
 * stamps lines itself), `tty` (as a person reads it: colour unless NO_COLOR), `plain` (a serial
 * console, a file, an initramfs: an ISO 8601 UTC timestamp, as the reference's zap logger).
 */
export type LogStyle = 'journal' | 'tty' | 'plain';

export interface StderrFacts {
  isTTY: boolean;
  /** `<st_dev>:<st_ino>` of fd 2, or undefined when it cannot be known. */
  devIno: string | undefined;
  /** The JOURNAL_STREAM variable systemd sets for a unit whose stderr is the journal. */
  journalStream: string | undefined;
}

/**
 * systemd.exec(5): JOURNAL_STREAM holds the device and inode of the journal stream it connected;
 * it counts only while fd 2 is still that stream (a child whose stderr was redirected inherits
 * the variable, but not the stream).
 */
export function logStyleFor(facts: StderrFacts): LogStyle {
  if (facts.journalStream && facts.devIno !== undefined && facts.journalStream === facts.devIno) return 'journal';
  return facts.isTTY ? 'tty' : 'plain';
}

function stderrFacts(): StderrFacts {
  let devIno: string | undefined;
  const journalStream = process.env.JOURNAL_STREAM;
  if (journalStream) {
    try {
      const st = fstatSync(2, { bigint: true });
      devIno = `${st.dev}:${st.ino}`;
    } catch {
      /* no fd 2 */
    }
  }
  return { isTTY: isatty(2), devIno, journalStream };
}

let style: LogStyle | undefined;

/** Decorates each line of `text` (a stack trace under --debug is several) for the current style. */
export function renderLines(level: string, text: string, how: LogStyle, o: { colour?: boolean; now?: Date } = {}): string {
  const tag = level.padEnd(5);
  const colour = how === 'tty' && o.colour !== false && !process.env.NO_COLOR ? COLOURS[level] : undefined;
  const prefix =
    how === 'journal'
      ? `<${JOURNAL_PRIORITIES[level] ?? 6}>${tag} `
      : how === 'plain'
        ? `${(o.now ?? new Date()).toISOString()} ${tag} `
        : colour
          ? `${colour}${tag}\x1b[0m `
          : `${tag} `;
  return `${text.split('\n').map((line) => `${prefix}${line}`).join('\n')}\n`;
}

let sink: ((line: string) => void) | undefined;

/**
 * Tests capture log output through this, as undecorated `LEVEL text` lines whatever stderr is.
 * Returns a function restoring the previous sink.
 */
export function setLogSink(write: (line: string) => void): () => void {
  const previous = sink;
  sink = write;
  return () => {
    sink = previous;
  };
}

// The last guard against log injection (server strings are quoted where they are used): no
// control or invisible character but the newline reaches the output, a tab becomes a space (and
// each line of a message carries the level prefix, so none can pass for a log line of its own).
function printable(text: string): string {
  return text.replace(ANY_CONTROL_BUT_NEWLINE, (c) => (c === '\t' ? ' ' : escapeChar(c)));
}

function render(logObj: LogObject): string {
  const level = LEVEL_NAMES[logObj.level] ?? 'INFO';
  const text = printable(redact(format(...logObj.args.map((a) => (a instanceof Error ? a.message : a)))));
  if (sink) return renderLines(level, text, 'tty', { colour: false });
  style ??= logStyleFor(stderrFacts());
  return renderLines(level, text, style);
}

export const log: ConsolaInstance = createConsola({
  level: 3,
  reporters: [{ log: (logObj) => (sink ?? writeStderr)(render(logObj)) }],
});

export function setDebug(enabled: boolean): void {
  log.level = enabled ? 4 : 3;
}

export function isDebug(): boolean {
  return log.level >= 4;
}
