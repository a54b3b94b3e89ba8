// The command line (SPEC §2). Thin on purpose: parse, then hand over to a phase module loaded
// on demand, and turn every failure into one line and an exit code.
// Start-up cost matters (every boot, initramfs): this module imports only cac and tiny
// modules; the logger, config, client and phases are loaded by the command that needs them.
import { cac, type CAC } from 'cac';
import { AgentError, ExitCode, UsageError, errorMessage } from './errors';
import { versionLine } from './version';
import type { CompletionSpec } from './completion';
import { StopRequested, stopExitCode } from './signals';
import { DEFAULT_CONFIG_PATH, type GlobalOptions } from './options';

const PROGRAM = 'elemental-agent';

function globals(options: Record<string, unknown>): GlobalOptions {
  const pick = (key: string, fallback: string): string => {
    const value = options[key];
    if (Array.isArray(value)) throw new UsageError(`option --${key} given more than once`);
    if (value === true || value === '') throw new UsageError(`option --${key} needs a value`);
    return value === undefined ? fallback : String(value);
  };
  return { config: pick('config', DEFAULT_CONFIG_PATH), debug: options.debug === true, root: pick('root', '/') };
}

function buildCli(): CAC {
  const cli = cac(PROGRAM);
  cli.option('--config <path>', `Agent config file (default: ${DEFAULT_CONFIG_PATH})`);
  cli.option('--debug', 'Debug logging (ORed with agent.debug)');
  cli.option('--root <dir>', 'Resolve every host path under DIR (default: /)');

  cli
    .command('register', 'Register this host, finalize, optionally install')
    .option('--install', 'Install right after registering')
    .action(async (options: Record<string, unknown>) => {
      const { registerCommand } = await import('./commands');
      return registerCommand(globals(options), { install: options.install === true });
    });
  cli.command('install', 'Install the OS (dummy: dump the install config)').action(async (options: Record<string, unknown>) => {
    const { installCommand } = await import('./commands');
    return installCommand(globals(options));
  });
  cli.command('run', 'Reconcile loop against the remote ElementalHost').action(async (options: Record<string, unknown>) => {
    const { runCommand } = await import('./commands');
    return runCommand(globals(options));
  });
  cli.command('reset', 'Reset this host').action(async (options: Record<string, unknown>) => {
    const { resetCommand } = await import('./commands');
    return resetCommand(globals(options));
  });
  cli.command('version', 'Print the version').action(() => {
    process.stdout.write(`${versionLine()}\n`);
    return ExitCode.ok;
  });
  cli.command('completion <shell>', 'Print a shell completion script (bash, zsh or fish)').action(async (shell: string) => {
    const { completionScript } = await import('./completion');
    process.stdout.write(completionScript(shell, completionSpec(cli)));
    return ExitCode.ok;
  });
  cli.help();
  return cli;
}

function completionSpec(cli: CAC): CompletionSpec {
  // '-h, --help' → '--help'; '--config <path>' → '--config'.
  const longNames = (rawNames: string[]) => rawNames.map((raw) => raw.split(/[ ,]+/).find((part) => part.startsWith('--')) ?? raw);
  return {
    program: PROGRAM,
    globalOptions: longNames(cli.globalCommand.options.map((o) => o.rawName)),
    valueOptions: { '--config': 'file', '--root': 'dir' },
    commands: cli.commands
      .filter((c) => c.name !== '')
      .map((c) => ({
        name: c.name,
        description: c.description,
        options: longNames(c.options.map((o) => o.rawName)),
        args: c.name === 'completion' ? ['bash', 'zsh', 'fish'] : undefined,
      })),
  };
}

async function report(err: unknown): Promise<number> {
  if (err instanceof StopRequested) return stopExitCode() ?? ExitCode.sigterm;
  if (err instanceof UsageError) {
    process.stderr.write(`${PROGRAM}: ${err.message} (see '${PROGRAM} --help')\n`);
    return ExitCode.usage;
  }
  const { isDebug, log } = await import('./log');
  if (err instanceof AgentError) {
    log.error(err.message);
    if (isDebug() && err.cause instanceof Error && err.cause.stack) log.debug(err.cause.stack);
    return err.exitCode;
  }
  log.error(`unexpected error: ${errorMessage(err)}${isDebug() ? '' : ' (run with --debug for details)'}`);
  if (isDebug() && err instanceof Error && err.stack) log.debug(err.stack);
  return ExitCode.fatal;
}

export async function main(argv: string[]): Promise<number> {
  try {
    // --debug is honoured even for errors raised before the command runs.
    if (argv.includes('--debug')) (await import('./log')).setDebug(true);
    const cli = buildCli();
    cli.parse(argv, { run: false });
    if (cli.options.help) return ExitCode.ok; // cac printed it
    if (!cli.matchedCommand) {
      const unknown = cli.args[0];
      if (unknown !== undefined) throw new UsageError(`unknown command '${unknown}'`);
      cli.outputHelp();
      return ExitCode.usage;
    }
    const command = cli.matchedCommand;
    try {
      // cac's own checks, run before the action so that their failures are usage errors.
      command.checkUnknownOptions();
      command.checkOptionValue();
      command.checkRequiredArgs();
    } catch (err) {
      throw new UsageError(errorMessage(err).replace(/\.$/, ''));
    }
    const result: unknown = await cli.runMatchedCommand();
    return typeof result === 'number' ? result : ExitCode.ok;
  } catch (err) {
    return await report(err);
  }
}

main(process.argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${PROGRAM}: ${errorMessage(err)}\n`);
    process.exit(ExitCode.fatal);
  },
);
