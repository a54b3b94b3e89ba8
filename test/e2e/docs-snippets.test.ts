// The README's and docs' shell snippets work as written (issue 22): every command line of every
// ```sh block of README.md, docs/*.md and examples/README.md is either run here (the agent's
// read-only commands, through the spawn helper with a temporary --root) or skipped for a reason
// said below and printed. A new snippet nobody classified fails the test. The README's config
// example passes `check`.
import { readFileSync, readdirSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runAgent, tempRoot } from '../support/spawn-agent';
import { testPki } from '../support/certs';

const PAGES = ['README.md', 'examples/README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** How each kind of command line is treated: run, or skipped with the reason. */
const RULES: { pattern: RegExp; skip?: string }[] = [
  { pattern: /^elemental-agent facts( --json)?$/ },
  { pattern: /^elemental-agent status$/, skip: 'needs a registered host and its server: test/e2e/status.test.ts runs it in every state' },
  { pattern: /^npm ci && npm (run demo|test|run build|run build:sea)$/, skip: 'the suites and builds themselves (CI runs them)' },
  { pattern: /^npm run build:(sea:arm64|bun)$/, skip: 'a build (CI runs it; test/e2e/minimal-env.test.ts runs its output)' },
  { pattern: /^npm run test:(runtimes|boot)$|^sudo npm run test:boot$|^node test\/run\.mjs \w+$/, skip: 'a test suite (CI runs it)' },
  { pattern: /^(sudo )?examples\/install\.sh \S+$/, skip: 'installs into an image root: test/e2e/examples.test.ts runs it against temp dirs' },
  { pattern: /^install -m 0755 dist\/\S+ \/usr\/local\/bin\/elemental-agent$/, skip: 'writes /usr/local/bin of this machine' },
  { pattern: /^journalctl /, skip: 'reads the journal of a host running the units (the real-boot suite runs them)' },
  { pattern: /^systemd-analyze verify /, skip: 'test/e2e/examples.test.ts runs it on copies of the units' },
];

/** Command lines of the ```sh blocks of a page, comments dropped. */
function commandLines(page: string): string[] {
  const text = readFileSync(page, 'utf8');
  return [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].flatMap((m) =>
    m[1]!
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter((line) => line !== '' && !line.startsWith('#')),
  );
}

test("every shell snippet of the README and docs is run here or skipped for a reason", async () => {
  const root = tempRoot();
  const ran: string[] = [];
  const skipped = new Map<string, string[]>();
  try {
    for (const page of PAGES) {
      for (const line of commandLines(page)) {
        const rule = RULES.find((r) => r.pattern.test(line));
        assert.ok(rule, `${page}: no rule for the snippet \`${line}\`: run it here or say why it is skipped`);
        if (rule.skip) {
          skipped.set(rule.skip, [...(skipped.get(rule.skip) ?? []), line]);
          continue;
        }
        const r = await runAgent(line.split(' ').slice(1), { root });
        assert.is(r.code, 0, `${page}: \`${line}\` exited ${r.code}: ${r.stderr}`);
        assert.ok(r.stdout.length > 0, `${page}: \`${line}\` printed nothing`);
        ran.push(`${page}: ${line}`);
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`  ran ${ran.length}: ${ran.join('; ')}`);
  for (const [why, lines] of skipped) console.log(`  skipped ${[...new Set(lines)].join(', ')}: ${why}`);
  assert.ok(ran.length > 0);
});

test("the README's config example passes check", async () => {
  const readme = readFileSync('README.md', 'utf8');
  const config = /```yaml\n(registration:\n[\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(config, 'the README has a config example');
  const root = tempRoot();
  try {
    const path = (p: string) => join(root, p);
    mkdirSync(dirname(path('/etc/elemental/agent/config.yaml')), { recursive: true });
    writeFileSync(path('/etc/elemental/agent/config.yaml'), config, { mode: 0o640 });
    writeFileSync(path('/etc/elemental/ca.pem'), testPki().caCertPem);
    const r = await runAgent(['check'], { root });
    assert.is(r.code, 0, r.stdout + r.stderr);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
