// check (SPEC §15): validates the config file and, when present, <workDir>/private.key (and a
// pending registration) offline, for image builds and CI: `elemental-agent --root ./image check`.
// Nothing is sent and nothing is written. One line per problem, exit 1; here an unknown key and a
// raised reconciliation are problems too (a typo in a baked config must fail the build).
import { PRIVATE_KEY_FILE, buildClient, workPath } from './agent';
import { readConfig } from './config';
import { ExitCode, errorMessage } from './errors';
import { HostRoot } from './fs';
import { Identity, PENDING_REGISTRATION_FILE, loadPendingRegistration } from './identity';
import { log, registerSecret, setDebug } from './log';
import type { GlobalOptions } from './options';
import { writeStdout } from './output';
import { externalPluginFile, isExternalPlugin, loadPlugin } from './plugins';
import { stopSignal } from './signals';

/** Runs one check; a failure becomes a problem line instead of ending the command. */
function attempt<T>(problems: string[], check: () => T): T | undefined {
  try {
    return check();
  } catch (err) {
    problems.push(errorMessage(err));
    return undefined;
  }
}

export async function checkCommand(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  setDebug(options.debug);
  const root = new HostRoot(options.root);
  const problems: string[] = [];
  const checked: string[] = [];
  const parsed = await readConfig(root.resolve(options.config), options.config).catch((err: unknown) => {
    problems.push(errorMessage(err));
    return undefined;
  });
  if (parsed) {
    const { config } = parsed;
    registerSecret(config.registration.token);
    problems.push(...parsed.warnings);
    checked.push(`config file '${options.config}'`);
    const plugin = config.agent.osPlugin;
    // An external plugin is not imported (that would run it), but checked as the agent checks it
    // before importing: absolute, a regular file, safe ownership.
    if (isExternalPlugin(plugin)) {
      attempt(problems, () => externalPluginFile(plugin, root));
    } else {
      await loadPlugin(plugin, root).catch((err: unknown) => problems.push(errorMessage(err)));
    }
    const keyPath = workPath(config, PRIVATE_KEY_FILE);
    const stored = attempt(problems, () => Identity.load(root.resolve(keyPath)));
    if (stored) checked.push(`private key ${keyPath}`);
    const pendingPath = workPath(config, PENDING_REGISTRATION_FILE);
    const pending = attempt(problems, () => loadPendingRegistration(root.resolve(pendingPath)));
    if (pending) checked.push(`pending registration ${pendingPath} (host '${pending.name}': run 'elemental-agent register' to complete it)`);
    const { registration, agent } = config;
    if (registration.uri.startsWith('https:') && !registration.caCert && !agent.useSystemCertPool && !agent.insecureSkipTlsVerify) {
      problems.push(`no TLS trust for ${registration.uri}: set registration.caCert (or agent.useSystemCertPool, or agent.insecureSkipTlsVerify)`);
    }
    // The client's settings: scheme, caCert (read under --root), proxy variables, timeout.
    attempt(problems, () => buildClient({ config, identity: stored ?? pending?.identity ?? Identity.generate(), root, signal: stopSignal }, env));
  }
  for (const problem of problems) log.error(problem);
  if (problems.length > 0) return ExitCode.fatal;
  const key = checked.some((c) => c.startsWith('private key')) ? '' : ', no private key (not registered yet)';
  writeStdout(`check: OK: ${checked.join(', ')}${key}\n`);
  return ExitCode.ok;
}
