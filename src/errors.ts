// Errors the agent reports to the user as one line. Anything else that escapes is a bug and
// is reported with its stack only under --debug.

/** Exit codes of SPEC §2. */
export const ExitCode = {
  ok: 0,
  fatal: 1,
  usage: 2,
  sigint: 130,
  sigterm: 143,
} as const;

/** A failure with a message written for the operator: what, where, what to do. */
export class AgentError extends Error {
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AgentError';
    this.exitCode = options.exitCode ?? ExitCode.fatal;
  }
}

/**
 * An AgentError whose message tells local facts the server must not learn (whether a path of
 * this host exists, what it is): condition messages sent to the server use `forServer`, the
 * local log keeps the whole message.
 */
export class LocalDetailError extends AgentError {
  readonly forServer: string;
  constructor(message: string, forServer: string) {
    super(message);
    this.name = 'LocalDetailError';
    this.forServer = forServer;
  }
}

/** Wrong command line: exit 2. */
export class UsageError extends AgentError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.usage });
    this.name = 'UsageError';
  }
}

/** The message of any thrown value, for logs. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Characters JSON.stringify leaves as they are that a terminal or log viewer may act on. */
const INVISIBLE_RANGES = '\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff\\ufff9-\\ufffb';
const INVISIBLE_OR_CONTROL = new RegExp(`[${INVISIBLE_RANGES}]`, 'g');
/** The same and every C0 control (newline and tab included). */
const ANY_CONTROL = new RegExp(`[\\u0000-\\u001f${INVISIBLE_RANGES}]`, 'g');

/** The invisible ranges and every C0 control but the newline: what the log escapes (src/log.ts). */
export const ANY_CONTROL_BUT_NEWLINE = new RegExp(`[\\u0000-\\u0009\\u000b-\\u001f${INVISIBLE_RANGES}]`, 'g');

export const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `text` cut to `max` characters (never between the halves of a surrogate pair). */
function cut(text: string, max: number): { text: string; cut: boolean } {
  if (text.length <= max) return { text, cut: false };
  let end = max;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return { text: text.slice(0, end), cut: true };
}

/**
 * A string from outside (the server, a file) as it may appear in a log line or message: in
 * double quotes, cut to `max` characters ("..." after the closing quote says so), every control
 * character escaped, so it can neither forge a line nor drive a terminal.
 */
export function quote(value: string, max = 100): string {
  const c = cut(value, max);
  const quoted = JSON.stringify(c.text).replace(INVISIBLE_OR_CONTROL, escapeChar);
  return c.cut ? `${quoted}...` : quoted;
}

/**
 * Text that mixes our words with someone else's (a JSON.parse or TLS error naming what it
 * read, a key inside a path): every control character escaped as \uXXXX, cut to `max`.
 */
export function printable(text: string, max = Infinity): string {
  const c = cut(text, max);
  const escaped = c.text.replace(ANY_CONTROL, escapeChar);
  return c.cut ? `${escaped}...` : escaped;
}
