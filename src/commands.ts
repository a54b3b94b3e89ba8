// Command entry points: the common start-up (SPEC §8) followed by the phase a command runs.
import type { GlobalOptions } from './options';
import { startAgent } from './agent';
import { ExitCode } from './errors';
import { log } from './log';
import { installSignalHandlers } from './signals';

function start(options: GlobalOptions, requireRegistered = true) {
  installSignalHandlers((name) => log.info(`${name} received: stopping after the current step`));
  return startAgent(options, { requireRegistered });
}

export async function registerCommand(options: GlobalOptions, flags: { install: boolean }): Promise<number> {
  const ctx = await start(options, false);
  const { register } = await import('./phases/register');
  await register(ctx, flags);
  return ExitCode.ok;
}

export async function installCommand(options: GlobalOptions): Promise<number> {
  const ctx = await start(options);
  const { install } = await import('./phases/install');
  await install(ctx);
  return ExitCode.ok;
}

export async function runCommand(options: GlobalOptions): Promise<number> {
  const ctx = await start(options);
  const { run } = await import('./phases/run');
  await run(ctx);
  return ExitCode.ok;
}

export async function resetCommand(options: GlobalOptions): Promise<number> {
  const ctx = await start(options);
  const { reset } = await import('./phases/reset');
  await reset(ctx);
  return ExitCode.ok;
}
