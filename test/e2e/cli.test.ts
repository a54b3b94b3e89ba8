// The built single file: self-contained, --help, version, exit codes, one-line errors, completion.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { AGENT_PATH, runAgent, tempRoot } from '../support/spawn-agent';
import { withoutTimestamps } from '../support/log-lines';
import { tempDir } from '../support/temp';

const COMMANDS = ['register', 'install', 'run', 'reset', 'status', 'facts', 'check', 'version', 'completion', 'help'];

test('the bundle is one executable file with a shebang and only node: built-ins outside it', () => {
  const source = readFileSync(AGENT_PATH, 'utf8');
  assert.ok(source.startsWith('#!/usr/bin/env node\n'));
  assert.is(statSync(AGENT_PATH).mode & 0o777, 0o755);
  const required = new Set<string>();
  for (const m of source.matchAll(/\brequire\(\s*(["'`])([^"'`]+)\1\s*\)/g)) required.add(m[2]!);
  for (const m of source.matchAll(/\bimport\(\s*(["'`])([^"'`]+)\1\s*\)/g)) required.add(m[2]!);
  for (const m of source.matchAll(/\bfrom\s*(["'`])([^"'`]+)\1/g)) required.add(m[2]!);
  const foreign = [...required].filter((name) => !name.startsWith('node:'));
  assert.equal(foreign, [], `non-built-in modules referenced: ${foreign.join(', ')}`);
  const meta = JSON.parse(readFileSync('dist/meta.json', 'utf8')) as { outputs: Record<string, { imports: { path: string; external?: boolean }[] }> };
  const externals = Object.values(meta.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
  assert.ok(externals.every((p) => p.startsWith('node:')), `externals: ${externals.join(', ')}`);
});

test('copied alone into an empty directory it runs --help and version', async () => {
  const dir = tempDir('elemental-alone-');
  const copy = join(dir, 'elemental-agent.js');
  copyFileSync(AGENT_PATH, copy);
  const root = tempRoot();
  const help = await runAgent(['--help'], { root, agentPath: copy });
  assert.is(help.code, 0, help.stderr);
  for (const command of COMMANDS) assert.match(help.stdout, new RegExp(`^\\s+${command}\\b`, 'm'), command);
  for (const option of ['--config', '--debug', '--root', '--help', '--version']) assert.ok(help.stdout.includes(option), option);
  const version = await runAgent(['version'], { root, agentPath: copy });
  assert.is(version.code, 0, version.stderr);
  assert.match(version.stdout, /^elemental-agent \d+\.\d+\.\d+\S* \(commit [0-9a-f]{7,40}|unknown, \S+\)\n$/);
  // Run as its own executable too (shebang), from inside the empty directory.
  const direct = spawnSync(copy, ['version'], { cwd: dir, encoding: 'utf8' });
  assert.is(direct.status, 0, direct.stderr);
  assert.is(direct.stdout, version.stdout);
});

/** The options a command's --help lists. */
function listedOptions(help: string): string[] {
  const section = help.split('\nOptions:\n')[1] ?? '';
  return [...section.matchAll(/^ {2}(?:-\w, )?\s*(--[\w-]+)/gm)].map((m) => m[1]!).sort();
}

const HOST_OPTIONS = ['--config', '--debug', '--root'];
const OPTIONS_OF: Record<string, string[]> = {
  register: ['--install', ...HOST_OPTIONS],
  install: HOST_OPTIONS,
  run: HOST_OPTIONS,
  reset: HOST_OPTIONS,
  status: ['--json', ...HOST_OPTIONS],
  facts: ['--json'],
  check: HOST_OPTIONS,
  version: [],
  completion: [],
  help: [],
};

test('--help and help <command>: a description line first, only the options that apply, no trailing spaces', async () => {
  const root = tempRoot();
  try {
    for (const command of COMMANDS) {
      const r = await runAgent([command, '--help'], { root });
      assert.is(r.code, 0, `${command}: ${r.stderr}`);
      const first = r.stdout.split('\n')[0]!;
      assert.match(first, /^[A-Z][^ ].{10,}/, `${command}: starts with a description: ${first}`);
      assert.match(r.stdout, new RegExp(`\nUsage:\n  elemental-agent ${command}\\b`), command);
      assert.equal(listedOptions(r.stdout), [...OPTIONS_OF[command]!, '--help'].sort(), command);
      assert.not.match(r.stdout, / +$/m, `${command}: no trailing spaces`);
      const viaHelp = await runAgent(['help', command], { root });
      assert.is(viaHelp.code, 0);
      assert.is(viaHelp.stdout, r.stdout, `help ${command} = ${command} --help`);
    }
    const top = await runAgent(['help'], { root });
    assert.is(top.code, 0);
    assert.not.match(top.stdout, / +$/m, 'no trailing spaces');
    const bare = await runAgent([], { root });
    assert.is(bare.code, 0, 'a bare elemental-agent prints the help and exits 0');
    assert.is(bare.stdout, top.stdout);
    assert.is(bare.stderr, '');
    assert.is((await runAgent(['--help'], { root })).stdout, top.stdout);
    assert.is((await runAgent(['-h'], { root })).stdout, top.stdout);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('--version and -v print the version line and exit 0, as the version command', async () => {
  const root = tempRoot();
  try {
    const version = await runAgent(['version'], { root });
    for (const args of [['--version'], ['-v'], ['--debug', '-v']]) {
      const r = await runAgent(args, { root });
      assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.is(r.stdout, version.stdout, args.join(' '));
      assert.is(r.stderr, '');
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("flags before or after the command, as the reference's units write them", async () => {
  const root = tempRoot();
  try {
    mkdirSync(join(root, 'etc'));
    // No server needed: the config names a plugin that fails right after start-up.
    writeFileSync(join(root, 'etc/x.yaml'), 'registration:\n  uri: http://127.0.0.1:9/elemental/v1/namespaces/d/registrations/r\nagent:\n  insecureAllowHttp: true\n  osPlugin: elemental.so\n');
    for (const args of [
      ['register', '--debug', '--install', '--config', '/etc/x.yaml'],
      ['--debug', 'register', '--install', '--config', '/etc/x.yaml'],
      ['--config', '/etc/x.yaml', '--debug', 'register', '--install'],
    ]) {
      const r = await runAgent(args, { root });
      assert.is(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /INFO  elemental-agent \S+ \(commit [^)]*\) register: config \/etc\/x\.yaml, root \S+, plugin elemental\.so, server http:\/\/127\.0\.0\.1:9\/elemental\/v1\/namespaces\/d\/registrations\/r\n/, args.join(' '));
      assert.match(r.stderr, /DEBUG /, `--debug honoured: ${args.join(' ')}`);
      assert.match(r.stderr, /ERROR agent\.osPlugin "elemental\.so"/);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the start-up line: every command that reads the host, never version, completion or help', async () => {
  const root = tempRoot();
  try {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc/x.yaml'), 'registration:\n  uri: http://user:secret@127.0.0.1:9/elemental/v1/namespaces/d/registrations/r?token=abc\n  token: sekrit-registration-token\nagent:\n  insecureAllowHttp: true\n  osPlugin: elemental.so\n');
    for (const command of ['register', 'install', 'run', 'reset']) {
      const r = await runAgent(['--config', '/etc/x.yaml', command], { root });
      const lines = withoutTimestamps(r.stderr).split('\n');
      assert.match(lines[0]!, new RegExp(`^INFO  elemental-agent \\S+ \\(commit [^)]*\\) ${command}: config /etc/x\\.yaml, root ${root}, plugin elemental\\.so, server http://127\\.0\\.0\\.1:9/elemental/v1/namespaces/d/registrations/r$`), r.stderr);
      assert.not.match(r.stderr, /secret|sekrit|token=abc/, 'no credentials');
    }
    for (const args of [['version'], ['completion', 'bash'], ['help'], ['help', 'run'], ['run', '--help']]) {
      const r = await runAgent(['--config', '/etc/x.yaml', ...args], { root });
      assert.is(r.code, 0, args.join(' '));
      assert.is(r.stderr, '', `${args.join(' ')}: no start-up line`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('--root must be an existing directory: one line, exit 1', async () => {
  const root = tempRoot();
  try {
    writeFileSync(join(root, 'file'), '');
    const cases: [string, RegExp][] = [
      [join(root, 'missing'), /ERROR --root '.*\/missing': no such directory$/],
      [join(root, 'file'), /ERROR --root '.*\/file': not a directory$/],
    ];
    for (const [dir, pattern] of cases) {
      const r = await runAgent(['status'], { root: dir });
      assert.is(r.code, 1, r.stderr);
      assertOneLine(withoutTimestamps(r.stderr), pattern);
      assert.is(r.stdout, '');
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("with --root, an error about a host path says where it is on this machine", async () => {
  const root = tempRoot();
  try {
    const r = await runAgent(['--config', '/etc/elemental/agent/config.yaml', 'run'], { root });
    assert.is(r.code, 1);
    assertOneLine(
      withoutTimestamps(r.stderr),
      new RegExp(`^ERROR config file '/etc/elemental/agent/config\\.yaml' \\(${root}/etc/elemental/agent/config\\.yaml\\): file not found`),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

function assertOneLine(stderr: string, pattern: RegExp) {
  const lines = stderr.trimEnd().split('\n');
  assert.is(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0]!, pattern);
  assert.not.match(stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

test('usage errors exit 2 with one line', async () => {
  const root = tempRoot();
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /^elemental-agent: unknown command 'frobnicate' \(see 'elemental-agent --help'\)$/],
    [['regster'], /^elemental-agent: unknown command 'regster' \(did you mean 'register'\?\)/],
    [['stauts', '--json'], /unknown command 'stauts' \(did you mean 'status'\?\)/],
    [['help', 'rset'], /unknown command 'rset' \(did you mean 'reset'\?\)/],
    [['run', '--bogus'], /^elemental-agent: unknown option '--bogus' \(see 'elemental-agent help run'\)$/],
    [['version', '--install'], /unknown option '--install'/],
    [['--json'], /^elemental-agent: unknown option '--json' \(see 'elemental-agent --help'\)$/],
    [['completion'], /completion: missing argument <shell>/],
    [['completion', 'tcsh'], /unknown shell 'tcsh', expected one of: bash, zsh, fish/],
    [['completion', 'bash', 'zsh'], /completion: unexpected argument 'zsh'/],
    [['run', '--config'], /option '--config <path>' value is missing/],
    [['run', 'extra'], /^elemental-agent: run: unexpected argument 'extra' \(see 'elemental-agent help run'\)$/],
    [['register', 'now', 'please'], /register: unexpected arguments 'now' 'please'/],
    [['help', 'run', 'more'], /help: unexpected argument 'more'/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runAgent(args, { root });
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assertOneLine(r.stderr, pattern);
  }
});

test('bad config: exit 1, one line naming the file and the problem, nothing written', async () => {
  const root = tempRoot();
  mkdirSync(join(root, 'etc'), { recursive: true });
  const write = (name: string, text: string) => {
    writeFileSync(join(root, 'etc', name), text);
    return `/etc/${name}`;
  };
  const cases: [string, RegExp][] = [
    ['/nonexistent', /config file '\/nonexistent' \(\S+\/nonexistent\): file not found/],
    [write('invalid.yaml', 'registration: [oops\n'), /config file '\/etc\/invalid\.yaml' \(\S+\/etc\/invalid\.yaml\): invalid YAML at line/],
    [write('banana.yaml', 'registration:\n  uri: https://x/elemental/v1/namespaces/d/registrations/r\nagent:\n  reconciliation: banana\n'), /agent\.reconciliation: invalid duration 'banana'/],
    [write('ftp.yaml', 'registration:\n  uri: ftp://x\n'), /registration\.uri: unknown scheme 'ftp': invalid scheme, use 'https' instead/],
    ['/etc', /config file '\/etc' \(\S+\/etc\): is a directory/],
  ];
  for (const command of ['register', 'install', 'run', 'reset']) {
    for (const [config, pattern] of cases) {
      const r = await runAgent(['--config', config, command], { root });
      assert.is(r.code, 1, `${command} ${config}: ${r.stderr}`);
      assertOneLine(r.stderr, pattern);
      assert.is(r.stdout, '');
    }
  }
  const debug = await runAgent(['--debug', '--config', '/nonexistent', 'run'], { root });
  assert.is(debug.code, 1);
  assert.match(debug.stderr, /file not found/);
});

test('completion scripts are real: bash completes commands and flags, zsh and fish parse', async () => {
  const root = tempRoot();
  const dir = tempDir('elemental-completion-');
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await runAgent(['completion', shell], { root });
    assert.is(r.code, 0, r.stderr);
    writeFileSync(join(dir, shell), r.stdout);
  }
  const complete = (line: string) => {
    const words = line.split(' ');
    const script = `source ${join(dir, 'bash')}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _elemental_agent; echo "\${COMPREPLY[*]}"`;
    const out = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    assert.is(out.status, 0, out.stderr);
    return out.stdout.trim().split(' ').filter(Boolean).sort();
  };
  assert.equal(complete('elemental-agent '), [...COMMANDS, '--config', '--debug', '--help', '--root', '--version'].sort());
  assert.equal(complete('elemental-agent status --'), ['--config', '--debug', '--help', '--json', '--root']);
  assert.equal(complete('elemental-agent help '), [...COMMANDS, '--help'].sort());
  assert.equal(complete('elemental-agent version '), ['--help']);
  assert.equal(complete('elemental-agent re'), ['register', 'reset']);
  assert.equal(complete('elemental-agent register --i'), ['--install']);
  assert.equal(complete('elemental-agent --debug completion '), ['--help', 'bash', 'fish', 'zsh']);
  for (const shell of ['zsh', 'fish']) {
    const which = spawnSync('sh', ['-c', `command -v ${shell}`], { encoding: 'utf8' });
    if (which.status !== 0) {
      console.log(`  (${shell} not installed: syntax check of the ${shell} script skipped)`);
      continue;
    }
    const check = spawnSync(shell, ['-n', join(dir, shell)], { encoding: 'utf8' });
    assert.is(check.status, 0, `${shell} -n: ${check.stderr}`);
  }
  // fish can be asked for real completions.
  if (spawnSync('sh', ['-c', 'command -v fish'], { encoding: 'utf8' }).status === 0) {
    const fishComplete = (line: string) => {
      const out = spawnSync('fish', ['-c', `source ${join(dir, 'fish')}; complete -C "${line}"`], { encoding: 'utf8' });
      assert.is(out.status, 0, out.stderr);
      return out.stdout.trim().split('\n').map((l) => l.split('\t')[0]!).filter(Boolean).sort();
    };
    assert.equal(fishComplete('elemental-agent re'), ['register', 'reset']);
    assert.ok(fishComplete('elemental-agent register --').includes('--install'));
    assert.equal(fishComplete('elemental-agent completion '), ['bash', 'fish', 'zsh']);
  }
});

test.run();
