// What the agent prints goes out with write(2) on fd 1 and 2 (src/output.ts), not through
// Node's stdout and stderr streams: the bytes must arrive whatever the fds are — a full
// non-blocking pipe, a pipe nobody reads any more, a terminal. Perl (Debian's perl-base, always
// there) hands the agent such an fd and then execs it: Node has no fcntl(2).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAgent, tempRoot } from '../support/spawn-agent';

// A pipe of one page (F_SETPIPE_SZ, 1031), non-blocking, filled before the agent starts: its
// first write finds no room (EAGAIN). The reader waits half a second before it drains the pipe
// onto perl's own stdout, so the agent has to wait for room rather than lose its output.
const FULL_PIPE = `
use strict; use Fcntl;
pipe(my $r, my $w) or die "pipe: $!";
fcntl($w, 1031, 4096);
fcntl($w, F_SETFL, fcntl($w, F_GETFL, 0) | O_NONBLOCK) or die "fcntl: $!";
while (defined syswrite($w, 'f' x 4096)) {}
$!{EAGAIN} or die "filling the pipe: $!";
my $pid = fork() // die "fork: $!";
if ($pid == 0) { close $r; open(STDOUT, '>&', $w) or die "dup: $!"; close $w; exec @ARGV or die "exec: $!"; }
close $w;
select(undef, undef, undef, 0.5);
binmode STDOUT; local $/; my $all = <$r>; print STDOUT $all;
waitpid($pid, 0); exit($? & 127 ? 128 + ($? & 127) : $? >> 8);
`;

// A pipe whose read end is closed before the agent starts: every write gets EPIPE (Node
// ignores SIGPIPE, so it is an error, not a signal).
const BROKEN_PIPE = (fd: 1 | 2) => `
use strict;
pipe(my $r, my $w) or die "pipe: $!"; close $r;
open(${fd === 1 ? 'STDOUT' : 'STDERR'}, '>&', $w) or die "dup: $!"; close $w;
exec @ARGV or die "exec: $!";
`;

const perl = (script: string) => ['perl', '-e', script, '--'];

/** A root whose config names a plugin that does not exist: `check` reports errors and exits 1. */
function failingCheckRoot(): string {
  const root = tempRoot();
  mkdirSync(join(root, 'etc'));
  writeFileSync(
    join(root, 'etc/c.yaml'),
    'registration:\n  uri: http://127.0.0.1:9/elemental/v1/namespaces/d/registrations/r\nagent:\n  insecureAllowHttp: true\n  osPlugin: /usr/lib/elemental/plugins/none.so\n',
  );
  return root;
}

test('a full non-blocking pipe: the agent waits for room and its whole output arrives after what was there', async () => {
  const root = tempRoot();
  for (const args of [['version'], ['completion', 'bash']]) {
    const expected = await runAgent(args, { root });
    assert.is(expected.code, 0, expected.stderr);
    const r = await runAgent(args, { root, wrapper: perl(FULL_PIPE) });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stderr, '');
    const filler = /^f*/.exec(r.stdout)![0].length;
    assert.ok(filler >= 4096, `the pipe was full before the agent wrote (${filler} bytes)`);
    assert.is(r.stdout.slice(filler), expected.stdout, args.join(' '));
  }
});

test('a pipe nobody reads (`| head -1` that has exited): no error, the exit code is the command\'s', async () => {
  const root = tempRoot();
  const help = await runAgent(['help'], { root, wrapper: perl(BROKEN_PIPE(1)) });
  assert.is(help.code, 0);
  assert.is(help.stderr, '');
  assert.is(help.signal, null);
  // stderr broken too: the errors of `check` have nowhere to go, and it still exits 1.
  const failing = failingCheckRoot();
  const shown = await runAgent(['--config', '/etc/c.yaml', 'check'], { root: failing });
  assert.is(shown.code, 1);
  assert.match(shown.stderr, /none\.so/);
  const check = await runAgent(['--config', '/etc/c.yaml', 'check'], { root: failing, wrapper: perl(BROKEN_PIPE(2)) });
  assert.is(check.code, 1);
  assert.is(check.signal, null);
});

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

test('stderr a terminal: log lines without timestamps, the level coloured', async () => {
  if (!hasScript) {
    console.log('  (skipped: no script(1) to give the agent a terminal)');
    return;
  }
  const root = failingCheckRoot();
  // script(1) runs one command line in a new pseudo-terminal; the argv has no spaces (temp paths).
  const r = await runAgent(['--config', '/etc/c.yaml', 'check'], {
    root,
    env: { NO_COLOR: undefined, JOURNAL_STREAM: undefined },
    wrapper: ['sh', '-c', 'exec script -qec "$*" /dev/null', 'sh'],
  });
  assert.is(r.code, 1, r.stdout);
  const lines = r.stdout.split(/\r?\n/).filter(Boolean);
  assert.ok(lines.length > 0, r.stdout);
  for (const line of lines) assert.match(line, /^\x1b\[31mERROR\x1b\[0m \S/, JSON.stringify(line));
});

test.run();
