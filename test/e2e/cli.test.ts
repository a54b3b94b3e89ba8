// The built single file: self-contained, --help, version, exit codes, one-line errors, completion.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_PATH, runAgent, tempRoot } from '../support/spawn-agent';

const COMMANDS = ['register', 'install', 'run', 'reset', 'version', 'completion'];

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
  const dir = mkdtempSync(join(tmpdir(), 'elemental-alone-'));
  const copy = join(dir, 'elemental-agent.js');
  copyFileSync(AGENT_PATH, copy);
  const root = tempRoot();
  const help = await runAgent(['--help'], { root, agentPath: copy });
  assert.is(help.code, 0, help.stderr);
  for (const command of COMMANDS) assert.match(help.stdout, new RegExp(`^\\s+${command}\\b`, 'm'), command);
  for (const option of ['--config', '--debug', '--root', '--help']) assert.ok(help.stdout.includes(option), option);
  const version = await runAgent(['version'], { root, agentPath: copy });
  assert.is(version.code, 0, version.stderr);
  assert.match(version.stdout, /^elemental-agent \d+\.\d+\.\d+\S* \(commit [0-9a-f]{7,40}|unknown, \S+\)\n$/);
  // Run as its own executable too (shebang), from inside the empty directory.
  const direct = spawnSync(copy, ['version'], { cwd: dir, encoding: 'utf8' });
  assert.is(direct.status, 0, direct.stderr);
  assert.is(direct.stdout, version.stdout);
});

test('--help works on every command', async () => {
  const root = tempRoot();
  for (const command of COMMANDS) {
    const r = await runAgent([command, '--help'], { root });
    assert.is(r.code, 0, `${command}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`\\$ elemental-agent ${command}`), command);
  }
  const register = await runAgent(['register', '--help'], { root });
  assert.ok(register.stdout.includes('--install'));
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
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['run', '--bogus'], /Unknown option `--bogus`/],
    [['completion'], /missing required args/],
    [['completion', 'tcsh'], /unknown shell 'tcsh', expected one of: bash, zsh, fish/],
    [['run', '--config'], /option `--config <path>` value is missing/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runAgent(args, { root });
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assertOneLine(r.stderr, pattern);
  }
  const bare = await runAgent([], { root });
  assert.is(bare.code, 2);
});

test('bad config: exit 1, one line naming the file and the problem, nothing written', async () => {
  const root = tempRoot();
  mkdirSync(join(root, 'etc'), { recursive: true });
  const write = (name: string, text: string) => {
    writeFileSync(join(root, 'etc', name), text);
    return `/etc/${name}`;
  };
  const cases: [string, RegExp][] = [
    ['/nonexistent', /config file '\/nonexistent': file not found/],
    [write('invalid.yaml', 'registration: [oops\n'), /config file '\/etc\/invalid\.yaml': invalid YAML at line/],
    [write('banana.yaml', 'registration:\n  uri: https://x/elemental/v1/namespaces/d/registrations/r\nagent:\n  reconciliation: banana\n'), /agent\.reconciliation: invalid duration 'banana'/],
    [write('ftp.yaml', 'registration:\n  uri: ftp://x\n'), /registration\.uri: unknown scheme 'ftp': invalid scheme, use 'https' instead/],
    ['/etc', /config file '\/etc': is a directory/],
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
  const dir = mkdtempSync(join(tmpdir(), 'elemental-completion-'));
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
  assert.equal(complete('elemental-agent '), [...COMMANDS, '--config', '--debug', '--help', '--root'].sort());
  assert.equal(complete('elemental-agent re'), ['register', 'reset']);
  assert.equal(complete('elemental-agent register --i'), ['--install']);
  assert.equal(complete('elemental-agent --debug completion '), ['--config', '--debug', '--help', '--root', 'bash', 'fish', 'zsh'].sort());
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
