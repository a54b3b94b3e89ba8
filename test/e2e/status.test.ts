// `status` (SPEC §15) in each waiting state of a host, against the stand-in, through the built
// agent. The same runs PRODUCE the examples of docs/operations.md ("When a host is stuck"): the
// last test checks that the page shows what status prints (names, ports and times aside), and
// `STATUS_README_UPDATE=1 node test/run.mjs status` writes them there.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { WORK_DIR, type Journey, journey, registeredJourney } from '../support/lifecycle';
import type { AgentResult } from '../support/spawn-agent';
import { bootTime } from '../../src/status';

const README = 'docs/operations.md';
const BOOTSTRAP_FILE = '/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg';
const SENTINEL = '/run/cluster-api/bootstrap-success.complete';

/** What each state's README block shows: stdout of `status`, as produced here. */
const produced = new Map<string, string>();

function lastLine(stdout: string): string {
  return stdout.trimEnd().split('\n').at(-1)!;
}

/** Puts a file's modification time `ms` into the past (a host that has waited that long). */
function age(j: Journey, hostPath: string, ms: number): void {
  const when = new Date(Date.now() - ms);
  utimesSync(j.path(hostPath), when, when);
}

interface Json {
  registered: boolean;
  host: string | null;
  identity: string;
  serverAnswered: boolean;
  serverView: Record<string, unknown> | null;
  serverError: string | null;
  state: string;
  waitingFor: string;
  files: { name: string; path: string; present: boolean; modified: string | null }[];
}

/** status and status --json; both must agree on the line, and the probe is one PATCH {}. */
async function status(j: Journey, readme: string): Promise<{ text: AgentResult; json: Json }> {
  j.api.clearRequests();
  const text = await j.run(['status'], { debug: false });
  const jsonRun = await j.run(['status', '--json'], { debug: false });
  assert.is(jsonRun.code, text.code, 'same exit code with --json');
  const json = JSON.parse(jsonRun.stdout) as Json;
  // Two runs, maybe a second apart: the same line but for the ages.
  const ageless = (line: string) => line.replace(/\b\d+ (s|min|h|d)\b/g, '<age>');
  assert.is(ageless(json.waitingFor), ageless(lastLine(text.stdout)));
  for (const r of j.api.requests) {
    assert.is(r.method, 'PATCH', `status only probes: ${r.method} ${r.path}`);
    assert.equal(r.body, {});
  }
  // The start-up line is on stderr, the report on stdout; no token or key anywhere.
  assert.match(text.stderr, /INFO  elemental-agent \S+ \(commit [^)]*\) status: config \/etc\/elemental\/agent\/config\.yaml, root \S+, plugin dummy, server http:\/\/127\.0\.0\.1:\d+\/elemental\/v1\/namespaces\/default\/registrations\/\S+\n/);
  produced.set(readme, text.stdout);
  return { text, json };
}

test('not registered: exit 1, says so and what to run; asks the server nothing', async () => {
  const j = await journey();
  try {
    const { text, json } = await status(j, 'not-registered');
    assert.is(text.code, 1);
    assert.is(lastLine(text.stdout), `not registered: no ${WORK_DIR}/private.key: run 'elemental-agent register'`);
    assert.equal(j.api.requests, []);
    assert.is(json.registered, false);
    assert.is(json.host, null);
    assert.is(json.identity, 'none');
    assert.is(json.serverView, null);
    assert.is(json.state, 'not-registered');
    assert.match(text.stdout, /^host {8}-$/m);
    assert.not.ok(j.exists(WORK_DIR), 'status writes nothing, not even the work dir');
  } finally {
    await j.close();
  }
});

test('waiting for the install hooks: install.yaml written 3 min ago, no reboot yet (exit 0)', async () => {
  const { j, name } = await registeredJourney();
  try {
    // 3 min ago, unless this machine booted less than 6 min ago (the file must be newer than the boot).
    const uptime = Date.now() - bootTime()!.getTime();
    const waited = Math.min(3 * 60_000 + 5_000, uptime / 2);
    age(j, `${WORK_DIR}/install.yaml`, waited);
    const { text, json } = await status(j, 'install-hooks');
    assert.is(text.code, 0, text.stderr);
    assert.match(lastLine(text.stdout), /^waiting for the install hooks: install\.yaml written \d+ (s|min) ago, no reboot yet$/);
    if (waited > 3 * 60_000) assert.is(lastLine(text.stdout), 'waiting for the install hooks: install.yaml written 3 min ago, no reboot yet');
    assert.is(json.host, name);
    assert.is(json.registered, true);
    assert.is(json.identity, 'private.key');
    assert.equal(json.serverView, { installed: true, bootstrapReady: false, bootstrapped: false, needsReset: false, inPlaceUpgrade: '' });
    assert.is(json.state, 'waiting-for-install-hooks');
    const install = json.files.find((f) => f.name === 'install.yaml')!;
    assert.is(install.present, true);
    assert.is(install.path, `${WORK_DIR}/install.yaml`);
    assert.match(text.stdout, new RegExp(`^host {8}${name}$`, 'm'));
    assert.match(text.stdout, /^ {2}\/var\/lib\/elemental\/agent\/install\.yaml +\d{4}-\d\d-\d\dT[\d:.]+Z \(\d+ (s|min) ago\)$/m);
    assert.match(text.stdout, /^ {2}\/var\/lib\/elemental\/agent\/needs\.reset +absent$/m);
    assert.match(text.stdout, /^server view installed=true bootstrapReady=false bootstrapped=false needsReset=false inPlaceUpgrade=-$/m);
    // Nothing secret: the registration token and the key stay where they are.
    for (const token of j.reg.tokens) assert.not.ok(text.stdout.includes(token) || text.stderr.includes(token), 'no token');
    assert.not.match(text.stdout, /PRIVATE KEY|eyJ/);
  } finally {
    await j.close();
  }
});

test('waiting for the bootstrap: written, no reboot since; then booted since and the sentinel missing', async () => {
  const { j, name } = await registeredJourney();
  try {
    j.api.setBootstrap(j.reg, name, { format: 'cloud-config', config: '#cloud-config\nruncmd: [touch /run/cluster-api/bootstrap-success.complete]\n' });
    const run = await j.run(['run']);
    assert.is(run.code, 0, run.stderr);
    assert.equal(run.calls.map((c) => c.command), ['reboot'], 'run applied the bootstrap and rebooted (shim)');

    const fresh = await status(j, 'bootstrap-reboot');
    assert.is(fresh.text.code, 0, fresh.text.stderr);
    assert.match(lastLine(fresh.text.stdout), new RegExp(`^waiting for the reboot that runs the bootstrap: ${BOOTSTRAP_FILE} written \\d+ s ago, no reboot since$`));
    assert.is(fresh.json.state, 'waiting-for-bootstrap-reboot');

    // The host rebooted, the bootstrap did not create its sentinel: the file predates the boot.
    const boot = bootTime();
    assert.ok(boot, 'this machine tells its boot time (/proc/stat btime)');
    // A realistic history: installed 20 min before the boot, bootstrap written 12 min before it.
    age(j, BOOTSTRAP_FILE, Date.now() - boot.getTime() + 12 * 60_000);
    age(j, `${WORK_DIR}/install.yaml`, Date.now() - boot.getTime() + 20 * 60_000);
    age(j, `${WORK_DIR}/os-version.yaml`, Date.now() - boot.getTime() + 19 * 60_000);
    const stuck = await status(j, 'bootstrap-run');
    assert.is(stuck.text.code, 0);
    assert.match(
      lastLine(stuck.text.stdout),
      new RegExp(`^waiting for the bootstrap to run: ${BOOTSTRAP_FILE} written \\d+ (min|h|d) ago, the host has booted since \\(\\d+ (s|min|h|d) ago\\), sentinel ${SENTINEL} missing$`),
    );
    assert.is(stuck.json.state, 'waiting-for-bootstrap-run');
    assert.equal(stuck.json.serverView, { installed: true, bootstrapReady: true, bootstrapped: false, needsReset: false, inPlaceUpgrade: '' });
  } finally {
    await j.close();
  }
});

test('waiting for the reset: needs.reset written, the hooks have not removed it', async () => {
  const { j, name } = await registeredJourney();
  try {
    j.api.deleteHost(j.reg, name);
    const run = await j.run(['run']);
    assert.is(run.code, 0, run.stderr);
    assert.ok(j.exists(`${WORK_DIR}/needs.reset`));
    age(j, `${WORK_DIR}/needs.reset`, 90_000);
    age(j, `${WORK_DIR}/install.yaml`, 3 * 86_400_000); // installed days ago
    const { text, json } = await status(j, 'reset-hooks');
    assert.is(text.code, 0);
    assert.is(
      lastLine(text.stdout),
      "waiting for the reset hooks: needs.reset written 1 min ago; they remove it once the host is prepared, then run 'elemental-agent reset'",
    );
    assert.is(json.state, 'waiting-for-reset-hooks');
    assert.is(json.serverView!.needsReset, true);
  } finally {
    await j.close();
  }
});

test('server unreachable: exit 1 with the reason', async () => {
  const { j, name } = await registeredJourney();
  try {
    await j.api.down();
    const { text, json } = await status(j, 'server-unreachable');
    assert.is(text.code, 1);
    assert.match(lastLine(text.stdout), /^server unreachable: patching host: .*ECONNREFUSED|^server unreachable: patching host: .*refused/);
    assert.is(json.state, 'server-unreachable');
    assert.is(json.serverAnswered, false);
    assert.is(json.host, name);
    assert.match(json.serverError!, /^patching host: /);
  } finally {
    await j.close();
  }
});

test('the server no longer knows the host: exit 1, says what a 404 means', async () => {
  const { j, name } = await registeredJourney();
  try {
    j.api.deleteHost(j.reg, name);
    await j.run(['reset']);
    assert.is(j.api.host(j.reg, name), undefined, 'reset removed the host on the server');
    const { text, json } = await status(j, 'unknown-to-server');
    assert.is(text.code, 1);
    assert.match(lastLine(text.stdout), new RegExp(`^the server does not know host '${name}' \\(patching host returned code '404': unexpected return code\\)`));
    assert.is(json.state, 'unknown-to-server');
  } finally {
    await j.close();
  }
});

test('a bad config is one line and exit 1, as for every command', async () => {
  const j = await journey();
  try {
    writeFileSync(j.path('/etc/elemental/agent/config.yaml'), 'registration: [oops\n');
    const r = await j.run(['status'], { debug: false });
    assert.is(r.code, 1);
    assert.is(r.stdout, '');
    assert.match(r.stderr, /ERROR config file '\/etc\/elemental\/agent\/config\.yaml' \(\S+\/etc\/elemental\/agent\/config\.yaml\): invalid YAML/);
    assert.is(r.stderr.trimEnd().split('\n').length, 1);
  } finally {
    await j.close();
  }
});

// ---- the examples of docs/operations.md ------------------------------------------------------------------

/** Names, ports, times and temp dirs vary between runs; the shape of the output does not. */
function normalise(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/\b\d+ (s|min|h|d)\b/g, '<age>')
    .replace(/\S*elemental-root-[A-Za-z0-9]+/g, '<root>')
    .replace(/\/registrations\/[\w.-]+/g, '/registrations/<name>');
}

const BLOCK = /<!-- status:([\w-]+) -->\n```console\n\$ elemental-agent status\n([\s\S]*?)```\n/g;

test("docs/operations.md 'When a host is stuck' shows what status prints in each state", () => {
  let readme = readFileSync(README, 'utf8');
  if (process.env.STATUS_README_UPDATE === '1') {
    readme = readme.replace(BLOCK, (block, name: string) => {
      const out = produced.get(name);
      return out === undefined ? block : `<!-- status:${name} -->\n\`\`\`console\n$ elemental-agent status\n${out}\`\`\`\n`;
    });
    writeFileSync(README, readme);
  }
  const shown = new Map([...readme.matchAll(BLOCK)].map((m) => [m[1]!, m[2]!]));
  for (const state of ['not-registered', 'install-hooks', 'bootstrap-run', 'reset-hooks', 'server-unreachable']) {
    assert.ok(shown.has(state), `${README} has no example of '${state}'`);
  }
  for (const [name, text] of shown) {
    const out = produced.get(name);
    assert.ok(out !== undefined, `${README} example '${name}' is not produced by this test`);
    assert.fixture(normalise(text), normalise(out));
  }
});

test.run();
