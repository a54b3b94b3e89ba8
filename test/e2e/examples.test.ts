// examples/: the systemd units, scripts and cloud-init user-data an operator drops into an image.
// The scripts run for real against temp dirs, with recording stubs first on PATH (systemctl,
// reboot, poweroff, hostnamectl, shutdown, halt, elemental-agent): nothing here ever touches
// this machine's services, hostname or power state.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { basename, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { parseConfigText } from '../../src/config';
import { runAgent, tempRoot } from '../support/spawn-agent';

const EXAMPLES = resolve('examples');
const SCRIPTS_DIR = join(EXAMPLES, 'scripts');
const SYSTEMD_DIR = join(EXAMPLES, 'systemd');
const USER_DATA = join(EXAMPLES, 'cloud-init/user-data.yaml');

// Where the README and the units install things.
const AGENT_BIN = '/usr/local/bin/elemental-agent';
/** What elemental-agent.service gives node before the bundle (see the comment there). */
const RUN_NODE_FLAGS = ['--max-semi-space-size=1'];
const LIBEXEC = '/usr/local/libexec/elemental/';
const WORK_DIR = '/var/lib/elemental/agent';
const CONFIG_PATH = '/etc/elemental/agent/config.yaml';

const RESET_SCRIPT = join(SCRIPTS_DIR, 'elemental-reset.sh');
const HOOKS_SCRIPT = join(SCRIPTS_DIR, 'elemental-hooks.sh');
const BOOT_SCRIPT = join(SCRIPTS_DIR, 'elemental-boot.sh');
const GUARDED = ['reboot', 'poweroff', 'hostnamectl', 'shutdown', 'halt'];

/** The absolute path of `name` on PATH, or undefined. */
function which(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v -- "$1"', 'sh', name], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path.startsWith('/') ? path : undefined;
}

/** `sh` always; dash and bash too where they are installed (syntax checks). */
const SHELLS = ['sh', 'dash', 'bash'].filter((s) => s === 'sh' || which(s) !== undefined);
/** The same, one per distinct program (sh is dash or bash on most systems): the script runs. */
const RUN_SHELLS = SHELLS.filter((shell, i) => {
  const real = (s: string) => realpathSync(which(s) ?? s);
  return SHELLS.findIndex((other) => real(other) === real(shell)) === i;
});

const scripts = () =>
  readdirSync(SCRIPTS_DIR)
    .filter((f) => f.endsWith('.sh'))
    .sort()
    .map((f) => join(SCRIPTS_DIR, f));
const units = () =>
  readdirSync(SYSTEMD_DIR)
    .filter((f) => /\.(service|path)$/.test(f))
    .sort();

/** A unit file's directives as `Section.Key` → values (comments and blank lines dropped). */
function directives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `not a directive: ${line}`);
    const key = `${section}.${line.slice(0, eq).trim()}`;
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return out;
}
const unit = (name: string) => directives(readFileSync(join(SYSTEMD_DIR, name), 'utf8'));
const one = (d: Map<string, string[]>, key: string) => {
  const values = d.get(key);
  assert.is(values?.length, 1, `${key}: ${JSON.stringify(values)}`);
  return values![0]!;
};

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
test.after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function writeExecutable(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

// ---------------------------------------------------------------- scripts: syntax and mode

test('every script is executable POSIX sh with set -eu and passes sh -n (and dash -n / bash -n)', () => {
  const list = scripts();
  assert.ok(list.length >= 2, `scripts: ${list.join(', ')}`);
  for (const script of list) {
    const name = basename(script);
    assert.is(statSync(script).mode & 0o111, 0o111, `${name} is not executable`);
    const text = readFileSync(script, 'utf8');
    assert.ok(text.startsWith('#!/bin/sh\n'), `${name}: shebang`);
    assert.match(text, /^set -eu$/m, `${name}: set -eu`);
    for (const shell of SHELLS) {
      const r = spawnSync(shell, ['-n', script], { encoding: 'utf8' });
      assert.is(r.status, 0, `${shell} -n ${name}: ${r.stderr}`);
    }
  }
  console.log(`  (syntax checked with ${SHELLS.join(', ')}; scripts run with ${RUN_SHELLS.join(', ')})`);
});

// ---------------------------------------------------------------- systemd units

test('the units carry the contract: run, install, path units and what they start', () => {
  const names = units();
  for (const expected of [
    'elemental-agent.service',
    'elemental-agent-install.service',
    'elemental-boot.service',
    'elemental-os-version.path',
    'elemental-os-version.service',
    'elemental-reset.path',
    'elemental-reset.service',
  ]) {
    assert.ok(names.includes(expected), `missing examples/systemd/${expected}`);
  }

  const run = unit('elemental-agent.service');
  assert.is(one(run, 'Service.ExecStart'), `/usr/bin/env node ${RUN_NODE_FLAGS.join(' ')} ${AGENT_BIN} run`);
  // The install hooks (cut short by the postInstall reboot) and the os-version hooks (by a
  // bootstrap's) run before the loop, with full privileges (+), at every start.
  assert.equal(run.get('Service.ExecStartPre'), [`+${LIBEXEC}elemental-hooks.sh install`, `+${LIBEXEC}elemental-hooks.sh os-version`]);
  assert.is(one(run, 'Service.TimeoutStartSec'), 'infinity');
  assert.is(one(run, 'Service.Restart'), 'on-failure');
  assert.ok(run.has('Service.RestartSec'));
  assert.is(one(run, 'Service.KillSignal'), 'SIGTERM');
  assert.is(one(run, 'Service.SuccessExitStatus'), '143');
  assert.is(one(run, 'Unit.ConditionPathExists'), `${WORK_DIR}/private.key`);
  assert.match(one(run, 'Unit.After'), /\bnetwork-online\.target\b/);
  assert.match(one(run, 'Unit.After'), /\bcloud-final\.service\b/);
  assert.match(one(run, 'Unit.Wants'), /\bnetwork-online\.target\b/);
  assert.is(one(run, 'Install.WantedBy'), 'multi-user.target');
  // Strict or full would make /etc and /usr read-only (see the comment in the unit).
  assert.not.ok(run.has('Service.ProtectSystem'));
  assert.not.ok(run.has('Service.MemoryDenyWriteExecute'), 'Node needs W+X memory');

  const install = unit('elemental-agent-install.service');
  // exec: no start job waits for days of registration; the loop follows through OnSuccess=.
  assert.is(one(install, 'Service.Type'), 'exec');
  assert.is(one(install, 'Service.ExecStart'), `${AGENT_BIN} register --install`);
  assert.is(one(install, 'Unit.OnSuccess'), 'elemental-agent.service');
  assert.ok(install.get('Unit.ConditionPathExists')?.includes(`!${WORK_DIR}/private.key`));
  assert.match(one(install, 'Unit.After'), /\bnetwork-online\.target\b/);
  assert.match(one(install, 'Unit.After'), /\bcloud-final\.service\b/);
  assert.match(one(run, 'Unit.After'), /\belemental-agent-install\.service\b/);

  const early = unit('elemental-boot.service');
  assert.is(one(early, 'Service.ExecStart'), `${LIBEXEC}elemental-boot.sh`);
  assert.is(one(early, 'Unit.DefaultDependencies'), 'no');
  assert.match(one(early, 'Unit.Before'), /\bcloud-init-local\.service\b/);
  assert.match(one(early, 'Unit.Before'), /\bsysinit\.target\b/);
  assert.is(one(early, 'Install.WantedBy'), 'sysinit.target');

  // A file that stays and changes: PathChanged; the reset trigger, a state: PathExists.
  assert.is(one(unit('elemental-os-version.path'), 'Path.PathChanged'), `${WORK_DIR}/os-version.yaml`);
  assert.is(one(unit('elemental-reset.path'), 'Path.PathExists'), `${WORK_DIR}/needs.reset`);
  assert.is(one(unit('elemental-os-version.service'), 'Service.ExecStart'), `${LIBEXEC}elemental-hooks.sh os-version`);
  assert.is(one(unit('elemental-reset.service'), 'Service.ExecStart'), `${LIBEXEC}elemental-reset.sh`);

  for (const name of names) {
    const d = unit(name);
    // Every path unit starts a unit that is here; every command is the agent or one of the scripts.
    for (const target of d.get('Path.Unit') ?? []) assert.ok(names.includes(target), `${name}: Unit=${target} is not in examples/systemd`);
    for (const exec of [...(d.get('Service.ExecStart') ?? []), ...(d.get('Service.ExecStartPre') ?? [])]) {
      const words = exec.split(/\s+/);
      const binary = words[0]!.replace(/^[-+!@:]+/, '');
      if (binary === AGENT_BIN) continue;
      if (binary === '/usr/bin/env' && words[1] === 'node' && words.includes(AGENT_BIN)) continue;
      assert.ok(binary.startsWith(LIBEXEC), `${name}: ${binary}`);
      assert.ok(existsSync(join(SCRIPTS_DIR, binary.slice(LIBEXEC.length))), `${name}: ${binary} is not in examples/scripts`);
    }
    // Held hostage: a unit a boot target wants is ordered before that target unless it says
    // DefaultDependencies=no. For a unit that waits for cloud-final (itself after
    // multi-user.target) that is a cycle, which systemd breaks by skipping a unit.
    const wantedBy = [...(d.get('Install.WantedBy') ?? []), ...(d.get('Install.RequiredBy') ?? [])].join(' ');
    const after = (d.get('Unit.After') ?? []).join(' ');
    if (/\b(multi-user|default|graphical)\.target\b/.test(wantedBy)) {
      assert.is(d.get('Unit.DefaultDependencies')?.[0], 'no', `${name}: multi-user.target would wait for it`);
      // ... and the dependencies systemd would have added are written out.
      assert.match(after, /\bsysinit\.target\b/, `${name}: After=sysinit.target`);
      assert.match((d.get('Unit.Conflicts') ?? []).join(' '), /\bshutdown\.target\b/, `${name}: Conflicts=shutdown.target`);
      assert.match((d.get('Unit.Before') ?? []).join(' '), /\bshutdown\.target\b/, `${name}: Before=shutdown.target`);
    }
  }
});

test('node accepts the run unit\'s flags: the agent starts with them', async () => {
  const r = await runAgent(['version'], { root: tempRoot(), nodeArgs: RUN_NODE_FLAGS });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^elemental-agent /);
});

test('every unit passes systemd-analyze verify (binaries stubbed in a temp dir)', () => {
  const analyze = which('systemd-analyze');
  if (!analyze) {
    console.log('  SKIP systemd-analyze verify: systemd-analyze is not installed here');
    return;
  }
  // verify checks that every ExecStart= binary exists and is executable: the copies point at
  // stubs in a temp dir. --root would need the whole unit library (sysinit.target...) in that
  // root; --generators=no needs no privileges; --recursive-errors=no keeps this machine's own
  // units out of the verdict; --man=no: no man: documentation to look up.
  const dir = tempDir('elemental-units-');
  const stubs = join(dir, 'stubs');
  const unitDir = join(dir, 'system');
  mkdirSync(join(stubs, 'libexec'), { recursive: true });
  mkdirSync(unitDir);
  const agentStub = join(stubs, 'elemental-agent');
  writeExecutable(agentStub, '#!/bin/sh\nexit 0\n');
  for (const script of scripts()) writeExecutable(join(stubs, 'libexec', basename(script)), '#!/bin/sh\nexit 0\n');
  const names = units();
  for (const name of names) {
    const text = readFileSync(join(SYSTEMD_DIR, name), 'utf8')
      .replaceAll(AGENT_BIN, agentStub.replaceAll('%', '%%'))
      .replaceAll(LIBEXEC, join(stubs, 'libexec/').replaceAll('%', '%%'));
    assert.not.match(text, /^Exec\w*=.*\/usr\/local\//m, `${name}: a command was not redirected to a stub`);
    writeFileSync(join(unitDir, name), text);
  }
  // --recursive-errors appeared in systemd 250.
  const help = spawnSync(analyze, ['--help'], { encoding: 'utf8', env: { ...process.env, SYSTEMD_PAGER: '' } }).stdout ?? '';
  const options = ['--man=no', '--generators=no', ...(help.includes('--recursive-errors') ? ['--recursive-errors=no'] : [])];
  const r = spawnSync(analyze, ['verify', ...options, ...names.map((n) => join(unitDir, n))], {
    encoding: 'utf8',
    env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_PAGER: '', SYSTEMD_LOG_LEVEL: 'notice' },
    timeout: 20_000,
  });
  assert.is(r.error, undefined);
  assert.is(r.status, 0, `systemd-analyze verify failed:\n${r.stdout}${r.stderr}`);
  assert.is(r.stderr.trim(), '', `systemd-analyze verify warnings:\n${r.stderr}`);
});

// ---------------------------------------------------------------- cloud-init user-data

test('the user-data is #cloud-config YAML whose agent config parses with the agent loader', async () => {
  const text = readFileSync(USER_DATA, 'utf8');
  assert.ok(text.startsWith('#cloud-config\n'), 'first line must be #cloud-config');
  const data = parse(text) as {
    write_files?: { path?: string; content?: string; permissions?: string; encoding?: string }[];
    runcmd?: (string | string[])[];
  };
  const files = data.write_files ?? [];
  const config = files.find((f) => f.path === CONFIG_PATH);
  assert.ok(config?.content, `write_files has no ${CONFIG_PATH}`);
  assert.is(config.permissions, '0640');
  const parsed = await parseConfigText(config.content, CONFIG_PATH);
  assert.match(parsed.registration.uri, /^https:\/\/[^/]+\/elemental\/v1\/namespaces\/[^/]+\/registrations\/[^/]+$/);
  assert.ok(parsed.registration.token !== '', 'a registration token placeholder');
  assert.is(parsed.agent.workDir, WORK_DIR);
  assert.is(parsed.agent.reconciliation, 10_000_000_000n);
  assert.is(parsed.agent.postInstall.reboot, true);

  const agent = files.find((f) => f.path === AGENT_BIN);
  assert.ok(agent, `write_files has no ${AGENT_BIN}`);
  assert.is(agent.permissions, '0755');
  assert.ok(agent.encoding === 'gz+b64' || agent.encoding === 'b64', `encoding: ${agent.encoding}`);
  for (const hook of files.filter((f) => f.path?.startsWith('/etc/elemental/hooks/'))) {
    assert.is(hook.permissions, '0755', `${hook.path} must be executable`);
    assert.ok(hook.content?.startsWith('#!/bin/sh\n'), `${hook.path}: shebang`);
  }

  // runcmd enables every unit with an [Install] section (for images whose units came without
  // install.sh) and starts the registration without waiting for it (--no-block: the unit waits
  // for cloud-final, which runs runcmd).
  const commands = (data.runcmd ?? []).map((c) => (Array.isArray(c) ? c.join(' ') : c));
  const all = commands.join('\n');
  const names = units();
  for (const mentioned of all.match(/[\w-]+\.(?:service|path)\b/g) ?? []) assert.ok(names.includes(mentioned), `runcmd names ${mentioned}, not in examples/systemd`);
  const enable = commands.find((c) => c.startsWith('systemctl enable ')) ?? '';
  for (const name of names.filter((n) => unit(n).has('Install.WantedBy'))) assert.match(enable, new RegExp(`\\b${name.replace('.', '\\.')}\\b`), `runcmd does not enable ${name}`);
  assert.match(all, /systemctl start --no-block\b.*\belemental-agent-install\.service\b/);
  for (const c of commands) if (/^systemctl (?:start|restart|enable --now)\b/.test(c)) assert.match(c, /--no-block/, `runcmd waits for a unit: ${c}`);
});

test('the user-data\'s sizes of the shipped agent are those of the built bundle (within 10%)', () => {
  const text = readFileSync(USER_DATA, 'utf8');
  const bundle = readFileSync(resolve('dist/elemental-agent.js'));
  const kib = (bytes: number) => bytes / 1024;
  const gzB64 = kib(gzipSync(bundle, { level: 9 }).toString('base64').length);
  const b64 = kib(bundle.toString('base64').length);
  const said = (re: RegExp) => Number(re.exec(text)?.[1]);
  const saidGzB64 = said(/That is ~(\d+) KiB of user-data/);
  const saidB64 = said(/`encoding: b64`.*: ~(\d+) KiB\)/);
  assert.ok(Math.abs(saidGzB64 - gzB64) <= gzB64 * 0.1, `gz+b64 is ${gzB64.toFixed(0)} KiB, the comment says ~${saidGzB64}`);
  assert.ok(Math.abs(saidB64 - b64) <= b64 * 0.1, `b64 is ${b64.toFixed(0)} KiB, the comment says ~${saidB64}`);
});

// ---------------------------------------------------------------- install.sh

const INSTALL_SH = join(EXAMPLES, 'install.sh');

/** Every file, directory and symlink under `dir`: path -> "mode" or "-> target". */
function tree(dir: string, sub = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
    const rel = join(sub, entry.name);
    const st = lstatSync(join(dir, rel));
    if (st.isSymbolicLink()) out.set(rel, `-> ${readlinkSync(join(dir, rel))}`);
    else {
      out.set(rel, (st.mode & 0o7777).toString(8));
      if (st.isDirectory()) for (const [k, v] of tree(dir, rel)) out.set(k, v);
    }
  }
  return out;
}

const symlinks = (t: Map<string, string>) => [...t].filter(([, v]) => v.startsWith('->')).sort();

test('install.sh DESTDIR puts the agent, scripts and units in place and enables the units', () => {
  const dest = tempDir('elemental-install-');
  const r = spawnSync('sh', [INSTALL_SH, dest], { encoding: 'utf8', timeout: 20_000 });
  assert.is(r.status, 0, r.stderr);
  const t = tree(dest);
  assert.is(t.get('usr/local/bin/elemental-agent'), '755');
  assert.equal(readFileSync(join(dest, 'usr/local/bin/elemental-agent')), readFileSync(resolve('dist/elemental-agent.js')));
  for (const script of scripts()) assert.is(t.get(`usr/local/libexec/elemental/${basename(script)}`), '755', basename(script));
  for (const name of units()) {
    assert.is(t.get(`etc/systemd/system/${name}`), '644', name);
    assert.is(readFileSync(join(dest, 'etc/systemd/system', name), 'utf8'), readFileSync(join(SYSTEMD_DIR, name), 'utf8'));
  }
  for (const hooks of ['install', 'os-version', 'reset']) assert.is(t.get(`etc/elemental/hooks/${hooks}.d`), '755');
  assert.equal(symlinks(t), [
    ['etc/systemd/system/multi-user.target.wants/elemental-agent-install.service', '-> /etc/systemd/system/elemental-agent-install.service'],
    ['etc/systemd/system/multi-user.target.wants/elemental-agent.service', '-> /etc/systemd/system/elemental-agent.service'],
    ['etc/systemd/system/paths.target.wants/elemental-os-version.path', '-> /etc/systemd/system/elemental-os-version.path'],
    ['etc/systemd/system/paths.target.wants/elemental-reset.path', '-> /etc/systemd/system/elemental-reset.path'],
    ['etc/systemd/system/sysinit.target.wants/elemental-boot.service', '-> /etc/systemd/system/elemental-boot.service'],
  ]);
  assert.match(r.stderr, /warning: no node in/, 'warns that the root has no node');

  // Again: the same result (idempotent), no temp files left.
  const again = spawnSync('sh', [INSTALL_SH, dest], { encoding: 'utf8', timeout: 20_000 });
  assert.is(again.status, 0, again.stderr);
  assert.equal([...tree(dest)].sort(), [...t].sort());

  // --no-enable: the files, no links.
  const bare = tempDir('elemental-install-');
  const r2 = spawnSync('sh', [INSTALL_SH, '--no-enable', bare], { encoding: 'utf8', timeout: 20_000 });
  assert.is(r2.status, 0, r2.stderr);
  assert.equal(symlinks(tree(bare)), []);
  assert.is(tree(bare).get('usr/local/bin/elemental-agent'), '755');
});

test('install.sh enables the units exactly as systemctl --root=DESTDIR enable does', () => {
  const systemctl = which('systemctl');
  if (!systemctl) {
    console.log('  SKIP the comparison with systemctl --root: systemctl is not installed here');
    return;
  }
  const ours = tempDir('elemental-install-');
  assert.is(spawnSync('sh', [INSTALL_SH, ours], { encoding: 'utf8', timeout: 20_000 }).status, 0);
  const theirs = tempDir('elemental-install-');
  assert.is(spawnSync('sh', [INSTALL_SH, '--no-enable', theirs], { encoding: 'utf8', timeout: 20_000 }).status, 0);
  // --root works on a plain directory: no running systemd, nothing of this machine is touched.
  const enabled = units().filter((n) => unit(n).has('Install.WantedBy'));
  const r = spawnSync(systemctl, [`--root=${theirs}`, 'enable', ...enabled], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } });
  assert.is(r.status, 0, r.stderr);
  assert.equal(symlinks(tree(ours)), symlinks(tree(theirs)));
});

test('install.sh: usage errors, a missing DESTDIR or bundle are one line and a non-zero exit', () => {
  const cases: [string[], NodeJS.ProcessEnv, number, RegExp][] = [
    [[], {}, 2, /usage: .*install\.sh \[--no-enable\] DESTDIR/],
    [['a', 'b'], {}, 2, /usage:/],
    [['--bogus', '/tmp'], {}, 2, /usage:/],
    [[join(tmpdir(), 'elemental-no-such-dir')], {}, 1, /DESTDIR '.*elemental-no-such-dir' is not a directory/],
    [[tempDir('elemental-install-')], { ELEMENTAL_AGENT_BUNDLE: join(tmpdir(), 'elemental-no-bundle.js') }, 1, /no agent bundle at .*run 'npm run build' first/],
  ];
  for (const [args, env, code, message] of cases) {
    const r = spawnSync('sh', [INSTALL_SH, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
    assert.is(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
  }
});

// ---------------------------------------------------------------- running the scripts

interface Sandbox {
  dir: string;
  work: string;
  hooks: string;
  calls: string;
  env: NodeJS.ProcessEnv;
}

/**
 * A temp dir with recording stubs first on PATH: systemctl (answers `show` with LoadState
 * "loaded" for the units in $STUB_LOADED_UNITS), the guarded power/hostname commands (record
 * and fail), and elemental-agent (records its arguments and whether needs.reset exists, exits
 * $STUB_AGENT_EXIT; with $STUB_AGENT_WAIT it waits for a signal).
 */
function sandbox(): Sandbox {
  const dir = tempDir('elemental-examples-');
  const bin = join(dir, 'bin');
  const work = join(dir, 'work');
  const hooks = join(dir, 'hooks');
  const calls = join(dir, 'calls.log');
  mkdirSync(bin);
  mkdirSync(work, { mode: 0o700 });
  mkdirSync(hooks);
  writeFileSync(calls, '');
  writeExecutable(
    join(bin, 'systemctl'),
    `#!/bin/sh
printf 'systemctl %s\\n' "$*" >>"$STUB_CALLS"
if [ "$1" = show ] && [ "$2" = --property=ActiveState ]; then
  # "active" while the countdown file holds a number above 0, then "inactive".
  n=$(cat "\${STUB_ACTIVE_COUNTDOWN:-/nonexistent}" 2>/dev/null || echo 0)
  if [ "$n" -gt 0 ]; then echo $((n - 1)) >"$STUB_ACTIVE_COUNTDOWN"; echo active; else echo inactive; fi
elif [ "$1" = show ]; then
  for last; do :; done
  case " \${STUB_LOADED_UNITS:-} " in *" $last "*) echo loaded ;; *) echo not-found ;; esac
fi
exit 0
`,
  );
  for (const name of GUARDED) writeExecutable(join(bin, name), `#!/bin/sh\nprintf '${name} %s\\n' "$*" >>"$STUB_CALLS"\nexit 1\n`);
  writeExecutable(
    join(bin, 'elemental-agent'),
    `#!/bin/sh
if [ -e "$STUB_WORK_DIR/needs.reset" ]; then state=present; else state=absent; fi
printf 'elemental-agent %s (needs.reset %s)\\n' "$*" "$state" >>"$STUB_CALLS"
if [ -n "\${STUB_AGENT_WAIT:-}" ]; then
  trap 'printf "elemental-agent SIGTERM\\n" >>"$STUB_CALLS"; exit 143' TERM
  : >"$STUB_AGENT_WAIT"
  while :; do sleep 0.05; done
fi
exit "\${STUB_AGENT_EXIT:-0}"
`,
  );
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    LANG: 'C',
    STUB_CALLS: calls,
    STUB_WORK_DIR: work,
    ELEMENTAL_WORK_DIR: work,
    ELEMENTAL_HOOKS_DIR: hooks,
    ELEMENTAL_HOOKS_STATE_DIR: join(dir, 'state'),
    ELEMENTAL_AGENT: join(bin, 'elemental-agent'),
    ELEMENTAL_AGENT_CONFIG: join(dir, 'config.yaml'),
    // Never the real uninstallers' paths.
    ELEMENTAL_UNINSTALLERS: '',
    ELEMENTAL_STOP_SERVICES: '',
    ELEMENTAL_AGENT_UNIT: '',
    ELEMENTAL_BOOT_STATE_DIR: join(dir, 'boot-state'),
    ELEMENTAL_CLOUD_CFG_DIR: join(dir, 'cloud.cfg.d'),
    ELEMENTAL_CLOUD_DIR: join(dir, 'cloud'),
    ELEMENTAL_IGNITION_BOOTSTRAP: join(dir, 'ignition/elemental-capi-bootstrap.conf'),
  };
  return { dir, work, hooks, calls, env };
}

/** A hook that records `<its name> <$1> <ELEMENTAL_HOOK_NAME> <content of $1>` and exits $code. */
function recordingHook(box: Sandbox, path: string, code = 0): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeExecutable(
    path,
    `#!/bin/sh\nprintf 'hook %s %s %s %s\\n' "$(basename "$0")" "$1" "$ELEMENTAL_HOOK_NAME" "$(cat "$1" 2>/dev/null | tr '\\n' ' ')" >>"${box.calls}"\nexit ${code}\n`,
  );
}

function runScript(shell: string, script: string, args: string[], box: Sandbox, extraEnv: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(shell, [script, ...args], { env: { ...box.env, ...extraEnv }, encoding: 'utf8', timeout: 10_000 });
  assert.is(r.error, undefined, `${shell} ${basename(script)}: ${r.error?.message}`);
  return { code: r.status, stderr: r.stderr, calls: takeCalls(box) };
}

/** The recorded calls since the last take (the log is emptied). */
function takeCalls(box: Sandbox): string[] {
  const lines = readFileSync(box.calls, 'utf8').split('\n').filter(Boolean);
  writeFileSync(box.calls, '');
  for (const line of lines) assert.not.ok(GUARDED.includes(line.split(' ')[0]!), `a guarded command ran: ${line}`);
  return lines;
}

for (const shell of RUN_SHELLS) {
  test(`[${shell}] elemental-reset.sh stops the services, runs uninstallers and hooks, deletes needs.reset, then runs elemental-agent reset`, () => {
    const box = sandbox();
    const needsReset = join(box.work, 'needs.reset');
    writeFileSync(needsReset, '1\n');
    recordingHook(box, join(box.hooks, 'reset.d/10-drain'));
    recordingHook(box, join(box.hooks, 'reset.d/20-wipe'));
    writeFileSync(join(box.hooks, 'reset.d/30-not-executable'), '#!/bin/sh\nexit 1\n');
    mkdirSync(join(box.hooks, 'reset.d/40-a-directory'));
    const uninstaller = join(box.dir, 'k3s-uninstall.sh');
    writeExecutable(uninstaller, `#!/bin/sh\nprintf 'uninstaller %s\\n' "$0" >>"${box.calls}"\n`);
    const r = runScript(shell, RESET_SCRIPT, [], box, {
      ELEMENTAL_STOP_SERVICES: 'k3s rke2-server rke2-agent',
      STUB_LOADED_UNITS: 'k3s rke2-agent',
      ELEMENTAL_UNINSTALLERS: `${join(box.dir, 'missing-uninstall.sh')} ${uninstaller}`,
    });
    assert.is(r.code, 0, r.stderr);
    assert.not.ok(existsSync(needsReset), 'needs.reset is deleted');
    assert.equal(r.calls, [
      'systemctl show --property=LoadState --value -- k3s',
      'systemctl stop -- k3s',
      'systemctl disable -- k3s',
      'systemctl show --property=LoadState --value -- rke2-server',
      'systemctl show --property=LoadState --value -- rke2-agent',
      'systemctl stop -- rke2-agent',
      'systemctl disable -- rke2-agent',
      `uninstaller ${uninstaller}`,
      `hook 10-drain ${needsReset} reset 1 `,
      `hook 20-wipe ${needsReset} reset 1 `,
      `elemental-agent --config ${box.env.ELEMENTAL_AGENT_CONFIG} reset (needs.reset absent)`,
    ]);
    assert.match(r.stderr, /^elemental-reset: /m, 'logs to stderr');
  });

  test(`[${shell}] elemental-reset.sh waits for the reconcile loop to end by itself, and stops it after ELEMENTAL_AGENT_WAIT`, () => {
    const box = sandbox();
    const needsReset = join(box.work, 'needs.reset');
    const countdown = join(box.dir, 'active-countdown');
    const show = 'systemctl show --property=ActiveState --value -- elemental-agent.service';
    const agent = `elemental-agent --config ${box.env.ELEMENTAL_AGENT_CONFIG} reset (needs.reset absent)`;

    // Active for two looks (run reports "waiting for reset"), then gone: no stop.
    writeFileSync(needsReset, '1\n');
    writeFileSync(countdown, '2\n');
    let r = runScript(shell, RESET_SCRIPT, [], box, { ELEMENTAL_AGENT_UNIT: 'elemental-agent.service', STUB_ACTIVE_COUNTDOWN: countdown });
    assert.is(r.code, 0, r.stderr);
    assert.equal(r.calls, [show, show, show, agent]);
    assert.match(r.stderr, /waiting for elemental-agent\.service to end \(it is active\)/);

    // Still active after ELEMENTAL_AGENT_WAIT seconds: stopped, then the reset goes on.
    writeFileSync(needsReset, '1\n');
    writeFileSync(countdown, '100\n');
    r = runScript(shell, RESET_SCRIPT, [], box, { ELEMENTAL_AGENT_UNIT: 'elemental-agent.service', STUB_ACTIVE_COUNTDOWN: countdown, ELEMENTAL_AGENT_WAIT: '1' });
    assert.is(r.code, 0, r.stderr);
    assert.equal(r.calls, [show, show, 'systemctl stop -- elemental-agent.service', agent]);
    assert.match(r.stderr, /still active after 1s: stopping it/);
  });

  test(`[${shell}] elemental-reset.sh puts needs.reset back when the agent or a hook fails, and does nothing without it`, () => {
    const box = sandbox();
    const needsReset = join(box.work, 'needs.reset');

    // Nothing to do.
    let r = runScript(shell, RESET_SCRIPT, [], box);
    assert.is(r.code, 0, r.stderr);
    assert.equal(r.calls, []);

    // The agent fails: the trigger is restored for the retry, with the agent's own content.
    writeFileSync(needsReset, '1\n');
    r = runScript(shell, RESET_SCRIPT, [], box, { STUB_AGENT_EXIT: '1' });
    assert.is(r.code, 1);
    assert.equal(r.calls, [`elemental-agent --config ${box.env.ELEMENTAL_AGENT_CONFIG} reset (needs.reset absent)`]);
    assert.is(readFileSync(needsReset, 'utf8'), '1\n');
    assert.not.ok(existsSync(`${needsReset}.tmp`));

    // A hook fails: needs.reset stays, the agent is not called.
    recordingHook(box, join(box.hooks, 'reset.d/10-fails'), 3);
    r = runScript(shell, RESET_SCRIPT, [], box);
    assert.is(r.code, 1);
    assert.equal(r.calls, [`hook 10-fails ${needsReset} reset 1 `]);
    assert.match(r.stderr, /10-fails failed with exit status 3/);
    assert.is(readFileSync(needsReset, 'utf8'), '1\n');

    // A missing agent is an error, before anything is stopped.
    r = runScript(shell, RESET_SCRIPT, [], box, { ELEMENTAL_AGENT: join(box.dir, 'nope'), ELEMENTAL_STOP_SERVICES: 'k3s' });
    assert.is(r.code, 1);
    assert.equal(r.calls, []);
    assert.ok(existsSync(needsReset));
  });

  test(`[${shell}] elemental-reset.sh stopped by SIGTERM while the agent runs: exit 143, needs.reset back`, async () => {
    const box = sandbox();
    const needsReset = join(box.work, 'needs.reset');
    writeFileSync(needsReset, '1\n');
    const started = join(box.dir, 'agent-started');
    // Its own process group, as a systemd service: SIGTERM goes to the script and the agent.
    const child = spawn(shell, [RESET_SCRIPT], { env: { ...box.env, STUB_AGENT_WAIT: started }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    const deadline = Date.now() + 5000;
    while (!existsSync(started) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    try {
      assert.ok(existsSync(started), `the agent stub did not start: ${stderr}`);
      process.kill(-child.pid!, 'SIGTERM');
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      assert.is(code, 143, stderr);
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
    assert.is(readFileSync(needsReset, 'utf8'), '1\n', 'needs.reset restored');
    const calls = takeCalls(box);
    assert.ok(calls.includes('elemental-agent SIGTERM'), calls.join('\n'));
    assert.match(stderr, /stopped by SIGTERM/);
  });

  test(`[${shell}] elemental-boot.sh: a new CAPI bootstrap makes the boot a first boot for cloud-init, without the user-data, once`, () => {
    const box = sandbox();
    const env = box.env as Record<string, string>;
    const cloud = env.ELEMENTAL_CLOUD_DIR!;
    const cfgDir = env.ELEMENTAL_CLOUD_CFG_DIR!;
    const dropIn = join(cfgDir, '99-elemental-bootstrap-instance.cfg');
    const cloudState = () => readdirSync(cloud).sort();
    const seedInstance = () => {
      for (const d of ['seed/nocloud', 'instances/iid-1/sem', 'data']) mkdirSync(join(cloud, d), { recursive: true });
      writeFileSync(join(cloud, 'seed/nocloud/user-data'), '#cloud-config\n');
      writeFileSync(join(cloud, 'instances/iid-1/sem/config_runcmd'), '');
    };
    seedInstance();

    // The usual boot: nothing.
    let r = runScript(shell, BOOT_SCRIPT, [], box);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stderr, '');
    assert.equal(cloudState(), ['data', 'instances', 'seed']);

    mkdirSync(cfgDir);
    writeFileSync(join(cfgDir, 'elemental-capi-bootstrap.cfg'), '#cloud-config\nruncmd: [[touch, /run/cluster-api/bootstrap-success.complete]]\n');
    r = runScript(shell, BOOT_SCRIPT, [], box);
    assert.is(r.code, 0, r.stderr);
    assert.equal(cloudState(), ['seed'], 'cloud-init state cleaned, seed kept');
    assert.ok(existsSync(join(cloud, 'seed/nocloud/user-data')));
    const cfg = parse(readFileSync(dropIn, 'utf8'));
    assert.equal(cfg, { allow_userdata: false, preserve_hostname: true });
    assert.is(statSync(dropIn).mode & 0o777, 0o644);

    // cloud-init ran (made its state again): the next boots leave it alone.
    seedInstance();
    r = runScript(shell, BOOT_SCRIPT, [], box);
    assert.is(r.code, 0, r.stderr);
    assert.equal(cloudState(), ['data', 'instances', 'seed']);

    // A different bootstrap (after a reset and a new registration): handled again.
    writeFileSync(join(cfgDir, 'elemental-capi-bootstrap.cfg'), '#cloud-config\nruncmd: [[echo, two]]\n');
    r = runScript(shell, BOOT_SCRIPT, [], box);
    assert.equal(cloudState(), ['seed']);
    assert.equal(r.calls, []);
  });

  test(`[${shell}] elemental-boot.sh after a finished reset forgets the identity and cloud-init's state; not while needs.reset exists`, () => {
    const box = sandbox();
    const env = box.env as Record<string, string>;
    const cloud = env.ELEMENTAL_CLOUD_DIR!;
    const cfgDir = env.ELEMENTAL_CLOUD_CFG_DIR!;
    const ignition = env.ELEMENTAL_IGNITION_BOOTSTRAP!;
    const hooksState = env.ELEMENTAL_HOOKS_STATE_DIR!;
    for (const d of ['seed/nocloud', 'instances/iid-1', join(hooksState), cfgDir, join(ignition, '..')]) mkdirSync(d.startsWith('/') ? d : join(cloud, d), { recursive: true });
    for (const f of ['private.key', 'reset.yaml', 'install.yaml', 'os-version.yaml', 'config.yaml', 'cloud-init.yaml']) writeFileSync(join(box.work, f), 'x\n');
    writeFileSync(join(hooksState, 'install.yaml.handled'), 'x\n');
    writeFileSync(join(cfgDir, 'elemental-capi-bootstrap.cfg'), '#cloud-config\n');
    writeFileSync(join(cfgDir, '99-elemental-bootstrap-instance.cfg'), 'allow_userdata: false\n');
    writeFileSync(join(cfgDir, '50-other.cfg'), 'keep: me\n');
    writeFileSync(ignition, '{}\n');

    // Reset not done yet (needs.reset is there): nothing is touched.
    writeFileSync(join(box.work, 'needs.reset'), '1\n');
    let r = runScript(shell, BOOT_SCRIPT, [], box);
    assert.is(r.code, 0, r.stderr);
    assert.ok(existsSync(join(box.work, 'private.key')));
    rmSync(join(box.work, 'needs.reset'));

    r = runScript(shell, BOOT_SCRIPT, [], box);
    assert.is(r.code, 0, r.stderr);
    assert.equal(readdirSync(box.work), [], 'the work dir is empty');
    assert.not.ok(existsSync(hooksState));
    assert.equal(readdirSync(cfgDir), ['50-other.cfg']);
    assert.not.ok(existsSync(ignition));
    assert.equal(readdirSync(cloud), ['seed']);
    assert.match(r.stderr, /the host was reset, forgetting its identity/);
    assert.equal(r.calls, []);
  });

  test(`[${shell}] elemental-hooks.sh runs the hooks of install.d / os-version.d with the file path, once per content`, () => {
    const box = sandbox();
    const install = join(box.work, 'install.yaml');
    const osVersion = join(box.work, 'os-version.yaml');
    recordingHook(box, join(box.hooks, 'install.d/10-first'));
    recordingHook(box, join(box.hooks, 'install.d/20-second'));
    writeFileSync(join(box.hooks, 'install.d/README'), 'not a hook\n');
    recordingHook(box, join(box.hooks, 'os-version.d/50-os'));

    // No file yet (PathChanged also fires on deletion): nothing to do.
    let r = runScript(shell, HOOKS_SCRIPT, ['install'], box);
    assert.is(r.code, 0, r.stderr);
    assert.equal(r.calls, []);

    writeFileSync(install, 'device: /dev/sda\n');
    r = runScript(shell, HOOKS_SCRIPT, ['install'], box);
    assert.is(r.code, 0, r.stderr);
    assert.equal(r.calls, [`hook 10-first ${install} install device: /dev/sda `, `hook 20-second ${install} install device: /dev/sda `]);
    assert.match(r.stderr, /^elemental-hooks\[install\]: /m, 'logs to stderr');

    // Run again with the same content (as at every start of the loop): the hooks do not run again.
    writeFileSync(install, 'device: /dev/sda\n');
    r = runScript(shell, HOOKS_SCRIPT, ['install'], box);
    assert.is(r.code, 0, r.stderr);
    assert.equal(r.calls, []);

    // New content: they do.
    writeFileSync(install, 'device: /dev/vda\n');
    r = runScript(shell, HOOKS_SCRIPT, ['install'], box);
    assert.equal(r.calls, [`hook 10-first ${install} install device: /dev/vda `, `hook 20-second ${install} install device: /dev/vda `]);

    // os-version runs its own directory only.
    writeFileSync(osVersion, 'version: v1.2.3\n');
    r = runScript(shell, HOOKS_SCRIPT, ['os-version'], box);
    assert.is(r.code, 0, r.stderr);
    assert.equal(r.calls, [`hook 50-os ${osVersion} os-version version: v1.2.3 `]);

    // Usage errors.
    for (const args of [[], ['reset'], ['install', 'extra']]) {
      r = runScript(shell, HOOKS_SCRIPT, args, box);
      assert.is(r.code, 2, `args ${JSON.stringify(args)}`);
      assert.equal(r.calls, []);
    }
  });

  test(`[${shell}] elemental-hooks.sh: a failed hook leaves the content unhandled; a file replaced during the hooks is handled again`, () => {
    const box = sandbox();
    const osVersion = join(box.work, 'os-version.yaml');
    writeFileSync(osVersion, 'version: v1\n');
    recordingHook(box, join(box.hooks, 'os-version.d/10-ok'));
    recordingHook(box, join(box.hooks, 'os-version.d/20-fails'), 4);
    recordingHook(box, join(box.hooks, 'os-version.d/30-after'));
    let r = runScript(shell, HOOKS_SCRIPT, ['os-version'], box);
    assert.is(r.code, 1);
    assert.equal(r.calls, [`hook 10-ok ${osVersion} os-version version: v1 `, `hook 20-fails ${osVersion} os-version version: v1 `]);
    assert.match(r.stderr, /20-fails failed with exit status 4/);

    // Fixed: the same content runs all hooks now.
    recordingHook(box, join(box.hooks, 'os-version.d/20-fails'));
    r = runScript(shell, HOOKS_SCRIPT, ['os-version'], box);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.calls.length, 3);

    // The agent replaces the file while the hooks run (simulated by the first hook, once):
    // systemd would not start the service again, so the script goes round once more.
    const marker = join(box.dir, 'rewritten');
    writeExecutable(
      join(box.hooks, 'os-version.d/05-agent-rewrites'),
      `#!/bin/sh\nif [ ! -e "${marker}" ]; then : >"${marker}"; printf 'version: v3\\n' >"$1.tmp" && mv "$1.tmp" "$1"; fi\n`,
    );
    writeFileSync(osVersion, 'version: v2\n');
    r = runScript(shell, HOOKS_SCRIPT, ['os-version'], box);
    assert.is(r.code, 0, r.stderr);
    assert.equal(
      r.calls.map((c) => c.replace(/^hook (\S+) \S+ os-version /, '$1 ')),
      ['10-ok version: v3 ', '20-fails version: v3 ', '30-after version: v3 ', '10-ok version: v3 ', '20-fails version: v3 ', '30-after version: v3 '],
    );
    r = runScript(shell, HOOKS_SCRIPT, ['os-version'], box);
    assert.equal(r.calls, [], 'v3 is handled');
  });
}

test.run();
