// Log lines by where stderr goes (SPEC §12, issue 16 item 3): the journal (JOURNAL_STREAM names
// stderr's device:inode, systemd.exec(5)) gets sd-daemon(3) priorities and no timestamp;
// anything else without a TTY gets ISO 8601 UTC timestamps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAgent } from '../support/spawn-agent';

const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

/** A host root whose config starts the agent (start-up line, debug lines) and then fails (ERROR). */
function failingRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'elemental-root-'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(
    join(root, 'etc/c.yaml'),
    'registration:\n  uri: http://127.0.0.1:9/elemental/v1/namespaces/d/registrations/r\nagent:\n  insecureAllowHttp: true\n  osPlugin: /usr/lib/elemental/plugins/elemental.so\n',
  );
  return root;
}

function devIno(path: string): string {
  const st = statSync(path, { bigint: true });
  return `${st.dev}:${st.ino}`;
}

async function runWithStderrFile(journalStream: (file: string) => string | undefined): Promise<string[]> {
  const root = failingRoot();
  try {
    const file = join(root, 'stderr.log');
    writeFileSync(file, '');
    const r = await runAgent(['--debug', '--config', '/etc/c.yaml', 'run'], {
      root,
      stderrFile: file,
      env: { JOURNAL_STREAM: journalStream(file) },
    });
    assert.is(r.code, 1, r.stderr);
    return r.stderr.trimEnd().split('\n');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('stderr is the journal: every line starts with its priority, no timestamp', async () => {
  const lines = await runWithStderrFile(devIno);
  for (const line of lines) {
    assert.match(line, /^<[3-7]>(ERROR|WARN |INFO |DEBUG) /, line);
    assert.not.match(line, new RegExp(ISO), line);
  }
  assert.ok(lines.some((l) => /^<6>INFO  elemental-agent .* run: config \/etc\/c\.yaml, root \S+, plugin \/usr\/lib\/elemental\/plugins\/elemental\.so, server http:\/\/127\.0\.0\.1:9\//.test(l)), 'start-up line at info');
  assert.ok(lines.some((l) => l.startsWith('<7>DEBUG ')), 'debug lines at 7');
  assert.is(lines.filter((l) => l.startsWith('<3>ERROR ')).length, 1, 'the error at 3');
  assert.match(lines.at(-1)!, /^<3>ERROR agent\.osPlugin "\/usr\/lib\/elemental\/plugins\/elemental\.so" \(\S+\): the Elemental OS plugin is not available/);
});

test('JOURNAL_STREAM inherited but stderr redirected elsewhere: timestamps, no priorities', async () => {
  const lines = await runWithStderrFile((file) => {
    const [dev, ino] = devIno(file).split(':');
    return `${dev}:${BigInt(ino!) + 1n}`;
  });
  for (const line of lines) assert.match(line, new RegExp(`^${ISO} (ERROR|WARN |INFO |DEBUG) `), line);
  assert.ok(lines.some((l) => / INFO  elemental-agent /.test(l)));
});

test('no journal, no TTY (a pipe, a serial console): each line starts with an ISO 8601 UTC time', async () => {
  const root = failingRoot();
  try {
    const before = Date.now();
    const r = await runAgent(['--debug', '--config', '/etc/c.yaml', 'run'], { root, env: { JOURNAL_STREAM: undefined } });
    assert.is(r.code, 1);
    const lines = r.stderr.trimEnd().split('\n');
    assert.ok(lines.length >= 3, r.stderr);
    for (const line of lines) {
      const m = new RegExp(`^(${ISO}) (ERROR|WARN |INFO |DEBUG) `).exec(line);
      assert.ok(m, line);
      const t = Date.parse(m[1]!);
      assert.ok(t >= before - 1000 && t <= Date.now() + 1000, `a current UTC time: ${m[1]}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
