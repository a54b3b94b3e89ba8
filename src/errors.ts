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
