// The command line (SPEC §2). Thin on purpose: parse, then hand over to a phase module loaded
// on demand, and turn every failure into one line and an exit code.
// Start-up cost matters (every boot, initramfs): this module imports only cac and tiny
// modules; the logger, config, client and phases are loaded by the command that needs them.
// Manners are cobra's (what Kubernetes and Rancher operators have in their fingers): `help
// [command]`, a bare call prints the help and exits 0, -v/--version, flags before or after the
// command, a suggestion for a mistyped command.
import { statSync } from 'node:fs';
import { cac, type CAC } from 'cac';
import { AgentError, ExitCode, UsageError, errorMessage } from './errors';
import { versionLine } from './version';
import { editDistance } from './edit-distance';
import type { CompletionSpec } from './completion';
import { StopRequested, stopExitCode } from './signals';
import { DEFAULT_CONFIG_PATH, type GlobalOptions, withLocalPaths } from './options';
import { writeStderr, writeStdout } from './output';

const PROGRAM = 'elemental-agent';

interface OptionSpec {
  /** As cac takes it: '--install', '--config <path>', '-h, --help'. */
  flags: string;
  description: string;
  /** Completion of its value. */
  value?: 'file' | 'dir';
}

interface CommandInput {
  args: string[];
  options: Record<string, unknown>;
  /** The global options, for commands that read the host. */
  globals: GlobalOptions;
}

/** One command of the program: adding a command is adding one of these to COMMANDS. */
interface CommandSpec {
  name: string;
  /** Positional arguments in cac's syntax ('<shell>', '[command]'); none when absent. */
  args?: string;
  /** One line, for the command list and shell completion. */
  summary: string;
  /** The first line(s) of its --help. */
  description: string;
  options?: OptionSpec[];
  /** Whether --config/--debug/--root apply: the command reads this host (then --root must exist). */
  readsHost: boolean;
  /** Words completed for its argument. */
  argWords?: () => string[];
  run(input: CommandInput): Promise<number> | number;
}

const GLOBAL_OPTIONS: OptionSpec[] = [
  { flags: '--config <path>', description: `Agent config file (default: ${DEFAULT_CONFIG_PATH})`, value: 'file' },
  { flags: '--debug', description: 'Debug logging (ORed with agent.debug)' },
  { flags: '--root <dir>', description: 'Resolve every host path under DIR (default: /)', value: 'dir' },
];
const HELP_OPTION: OptionSpec = { flags: '-h, --help', description: 'Show this help' };
const VERSION_OPTION: OptionSpec = { flags: '-v, --version', description: 'Print the version' };

const COMMANDS: CommandSpec[] = [
  {
    name: 'register',
    summary: 'Register this host, finalize, optionally install',
    description:
      'Register this host with the ElementalRegistration of the config, then finalize: take the\n' +
      "server's config, write private.key, set the host name. With --install, install right after.",
    options: [{ flags: '--install', description: 'Install right after registering' }],
    readsHost: true,
    run: async ({ options, globals }) => (await import('./commands')).registerCommand(globals, { install: options.install === true }),
  },
  {
    name: 'install',
    summary: 'Install the OS (dummy: write install.yaml and cloud-init.yaml)',
    description: "Install the OS of this registered host from the registration's install config, and report it\ninstalled (the Dummy plugin writes install.yaml and cloud-init.yaml for your hooks).",
    readsHost: true,
    run: async ({ globals }) => (await import('./commands')).installCommand(globals),
  },
  {
    name: 'run',
    summary: 'Reconcile this host against its ElementalHost',
    description:
      'Reconcile this registered host against its remote ElementalHost until a reset is triggered or a\n' +
      'reboot is started: OS version, bootstrap, reset.',
    readsHost: true,
    run: async ({ globals }) => (await import('./commands')).runCommand(globals),
  },
  {
    name: 'reset',
    summary: 'Reset this host and remove it from the server',
    description: "Reset this registered host (the Dummy plugin writes reset.yaml) and report it reset, which\nremoves it from the server.",
    readsHost: true,
    run: async ({ globals }) => (await import('./commands')).resetCommand(globals),
  },
  {
    name: 'status',
    summary: 'Show what this host is, locally and on the server, and what it waits for',
    description:
      'Show what this host is, locally (config, identity, the Dummy files) and as the server sees it\n' +
      '(one no-op PATCH, as register probes), and what it waits for. Exit 0 when registered and the\n' +
      'server answers, 1 otherwise.',
    options: [{ flags: '--json', description: 'Print one JSON object (fields: see the README)' }],
    readsHost: true,
    run: async ({ options, globals }) => (await import('./status')).statusCommand(globals, { json: options.json === true }),
  },
  {
    name: 'facts',
    summary: "Print this machine's variables for templated host labels and names",
    description:
      "Print every variable an ElementalRegistration's hostLabels, hostAnnotations and agent.hostname.prefix\n" +
      "can use (${System Information/Serial Number}, ${System Data/CPU/Total Cores}, ...) with its value on\n" +
      'this machine, read from /sys and /proc (always the running machine: --root does not apply).',
    options: [{ flags: '--json', description: 'Print one JSON object: variable name -> value (null: none here)' }],
    readsHost: false,
    run: async ({ options }) => (await import('./host-variables')).factsCommand({ json: options.json === true }),
  },
  {
    name: 'check',
    summary: 'Validate the config (and private.key) offline',
    description:
      'Validate the config file and, when present, <workDir>/private.key and a pending registration,\n' +
      'without any network and without writing (for image builds and CI: --root ./image check).\n' +
      'One line per problem and exit 1 (an unknown key is a problem), else one line and exit 0.',
    readsHost: true,
    run: async ({ globals }) => (await import('./check')).checkCommand(globals),
  },
  {
    name: 'version',
    summary: 'Print the version',
    description: 'Print the version line: elemental-agent <version> (commit <sha>, <date>).',
    readsHost: false,
    run: () => printVersion(),
  },
  {
    name: 'completion',
    args: '<shell>',
    summary: 'Print a shell completion script (bash, zsh or fish)',
    description:
      `Print a completion script for bash, zsh or fish, e.g.\n` +
      `  ${PROGRAM} completion bash > /etc/bash_completion.d/${PROGRAM}`,
    readsHost: false,
    argWords: () => ['bash', 'zsh', 'fish'],
    run: async ({ args }) => {
      const { completionScript } = await import('./completion');
      writeStdout(completionScript(args[0]!, completionSpec()));
      return ExitCode.ok;
    },
  },
  {
    name: 'help',
    args: '[command]',
    summary: 'Show the help of the program or of one command',
    description: `Show the help of ${PROGRAM}, or of one command.`,
    readsHost: false,
    argWords: () => COMMANDS.map((c) => c.name),
    run: ({ args }) => {
      const name = args[0];
      writeStdout(name === undefined ? rootHelp() : commandHelp(findCommand(name)));
      return ExitCode.ok;
    },
  },
];

function printVersion(): number {
  writeStdout(`${versionLine()}\n`);
  return ExitCode.ok;
}

// ---- help ---------------------------------------------------------------------------------

/** `  --config <path>  description` lines, aligned; short flags in their own column. */
function optionLines(options: OptionSpec[]): string {
  const names = options.map((o) => (o.flags.startsWith('--') ? `    ${o.flags}` : o.flags));
  const width = Math.max(...names.map((n) => n.length));
  return options.map((o, i) => `  ${names[i]!.padEnd(width)}  ${o.description}`).join('\n');
}

function commandOptions(command: CommandSpec): OptionSpec[] {
  return [...(command.options ?? []), ...(command.readsHost ? GLOBAL_OPTIONS : []), HELP_OPTION];
}

function rootHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `${PROGRAM}: the host agent of the Cluster API Elemental provider (Dummy OS plugin). It takes`,
    'care of the lifecycle of this host: registration, installation, CAPI bootstrap, upgrades, reset.',
    '',
    'Usage:',
    `  ${PROGRAM} [options] <command>`,
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    optionLines([...GLOBAL_OPTIONS, HELP_OPTION, VERSION_OPTION]),
    '',
    `Run '${PROGRAM} help <command>' for more about a command.`,
    '',
  ].join('\n');
}

function commandHelp(command: CommandSpec): string {
  const usage = [PROGRAM, command.name, command.args, '[options]'].filter(Boolean).join(' ');
  return [command.description, '', 'Usage:', `  ${usage}`, '', 'Options:', optionLines(commandOptions(command)), ''].join('\n');
}

// ---- parsing ------------------------------------------------------------------------------

/** As cobra: a command within two edits, or one that starts with what was typed. */
function suggestCommand(typed: string, names: string[] = COMMANDS.map((c) => c.name)): string | undefined {
  const ranked = names
    .map((name) => ({ name, d: editDistance(typed.toLowerCase(), name) }))
    .filter(({ name, d }) => d <= 2 || (typed.length > 0 && name.startsWith(typed.toLowerCase())))
    .sort((x, y) => x.d - y.d);
  return ranked[0]?.name;
}

function findCommand(name: string): CommandSpec {
  const command = COMMANDS.find((c) => c.name === name);
  if (command) return command;
  const suggestion = suggestCommand(name);
  throw new UsageError(`unknown command '${name}'${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`);
}

function buildCli(): CAC {
  const cli = cac(PROGRAM);
  for (const option of [...GLOBAL_OPTIONS, HELP_OPTION, VERSION_OPTION]) cli.option(option.flags, option.description);
  for (const spec of COMMANDS) {
    const command = cli.command([spec.name, spec.args].filter(Boolean).join(' '), spec.summary);
    for (const option of spec.options ?? []) command.option(option.flags, option.description);
  }
  return cli;
}

function globals(options: Record<string, unknown>, command: string): GlobalOptions {
  const pick = (key: string, fallback: string): string => {
    const value = options[key];
    if (Array.isArray(value)) throw new UsageError(`option --${key} given more than once`);
    if (value === true || value === '') throw new UsageError(`option --${key} needs a value`);
    return value === undefined ? fallback : String(value);
  };
  return { config: pick('config', DEFAULT_CONFIG_PATH), debug: options.debug === true, root: pick('root', '/'), command };
}

/** --root must name a directory that exists: a typo must not become a fresh, empty host. */
function checkRoot(root: string): void {
  if (root === '/') return;
  let isDirectory: boolean;
  try {
    isDirectory = statSync(root).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AgentError(`--root '${root}': ${code === 'ENOENT' ? 'no such directory' : `cannot use it: ${code ?? errorMessage(err)}`}`);
  }
  if (!isDirectory) throw new AgentError(`--root '${root}': not a directory`);
}

function completionSpec(): CompletionSpec {
  // '-h, --help' → '--help'; '--config <path>' → '--config'.
  const longName = (o: OptionSpec) => o.flags.split(/[ ,]+/).find((part) => part.startsWith('--')) ?? o.flags;
  return {
    program: PROGRAM,
    globalOptions: [...GLOBAL_OPTIONS, HELP_OPTION, VERSION_OPTION].map(longName),
    valueOptions: Object.fromEntries(GLOBAL_OPTIONS.filter((o) => o.value).map((o) => [longName(o), o.value!])),
    commands: COMMANDS.map((c) => ({
      name: c.name,
      description: c.summary,
      options: commandOptions(c).map(longName),
      args: c.argWords?.(),
    })),
  };
}

async function report(err: unknown, root: string, command: string | undefined): Promise<number> {
  if (err instanceof StopRequested) return stopExitCode() ?? ExitCode.sigterm;
  if (err instanceof UsageError) {
    writeStderr(`${PROGRAM}: ${err.message} (see '${PROGRAM} ${command ? `help ${command}` : '--help'}')\n`);
    return ExitCode.usage;
  }
  const { isDebug, log } = await import('./log');
  if (err instanceof AgentError) {
    log.error(withLocalPaths(err.message, root));
    if (isDebug() && err.cause instanceof Error && err.cause.stack) log.debug(err.cause.stack);
    return err.exitCode;
  }
  log.error(`unexpected error: ${errorMessage(err)}${isDebug() ? '' : ' (run with --debug for details)'}`);
  if (isDebug() && err instanceof Error && err.stack) log.debug(err.stack);
  return ExitCode.fatal;
}

export async function main(argv: string[]): Promise<number> {
  let root = '/';
  let commandName: string | undefined;
  try {
    // --debug is honoured even for errors raised before the command runs.
    if (argv.includes('--debug')) (await import('./log')).setDebug(true);
    const cli = buildCli();
    cli.parse(argv, { run: false });
    const options = cli.options as Record<string, unknown>;
    const matched = cli.matchedCommand;
    if (!matched) {
      const unknown = cli.args[0];
      if (unknown !== undefined) findCommand(unknown); // throws, with a suggestion
      const stray = Object.keys(options).find((name) => name !== '--' && !cli.globalCommand.hasOption(name));
      if (stray) throw new UsageError(`unknown option '${stray.length > 1 ? '--' : '-'}${stray}'`);
      if (options.version && !options.help) return printVersion();
      writeStdout(rootHelp());
      return ExitCode.ok;
    }
    const command = findCommand(matched.name);
    commandName = command.name;
    try {
      // cac's own checks, run before the command so that their failures are usage errors.
      matched.checkUnknownOptions();
      matched.checkOptionValue();
    } catch (err) {
      const text = errorMessage(err).replace(/`/g, "'").replace(/\.$/, '');
      throw new UsageError(`${text.charAt(0).toLowerCase()}${text.slice(1)}`);
    }
    if (options.help) {
      writeStdout(commandHelp(command));
      return ExitCode.ok;
    }
    if (options.version) return printVersion();
    const args = [...cli.args, ...((options['--'] as string[] | undefined) ?? [])];
    const declared = matched.args;
    const missing = declared.filter((a) => a.required).slice(args.length);
    if (missing.length > 0) throw new UsageError(`${command.name}: missing argument <${missing[0]!.value}>`);
    if (args.length > declared.length) {
      const extra = args.slice(declared.length).map((a) => `'${a}'`).join(' ');
      throw new UsageError(`${command.name}: unexpected argument${args.length - declared.length > 1 ? 's' : ''} ${extra}`);
    }
    const global = globals(options, command.name);
    if (command.readsHost) {
      root = global.root;
      checkRoot(global.root);
    }
    return await command.run({ args, options, globals: global });
  } catch (err) {
    return await report(err, root, commandName);
  }
}

main(process.argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    writeStderr(`${PROGRAM}: ${errorMessage(err)}\n`);
    process.exit(ExitCode.fatal);
  },
);
