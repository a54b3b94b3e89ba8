// SIGTERM/SIGINT: the agent finishes the step it is in (never a half-written file: writes are
// synchronous and atomic), then stops and exits 143/130. A second signal exits at once.
import { ExitCode } from './errors';

const controller = new AbortController();
let stopCode: number | undefined;
let installed = false;

export const stopSignal: AbortSignal = controller.signal;

/** The exit code the received signal asks for, if one was received. */
export function stopExitCode(): number | undefined {
  return stopCode;
}

export function installSignalHandlers(onFirst?: (name: string) => void): void {
  if (installed) return;
  installed = true;
  const handle = (name: NodeJS.Signals, code: number) => () => {
    if (stopCode !== undefined) process.exit(code);
    stopCode = code;
    onFirst?.(name);
    controller.abort();
  };
  process.on('SIGTERM', handle('SIGTERM', ExitCode.sigterm));
  process.on('SIGINT', handle('SIGINT', ExitCode.sigint));
}

/** Thrown (and caught by the CLI) when a wait or loop sees the stop signal. */
export class StopRequested extends Error {
  constructor() {
    super('stop requested');
    this.name = 'StopRequested';
  }
}

/** Throws StopRequested if a signal arrived; call between steps. */
export function checkStop(signal: AbortSignal = stopSignal): void {
  if (signal.aborted) throw new StopRequested();
}

/** Waits `ms`, or less if a stop signal arrives (then throws StopRequested). */
export function sleep(ms: number, signal: AbortSignal = stopSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new StopRequested());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new StopRequested());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
