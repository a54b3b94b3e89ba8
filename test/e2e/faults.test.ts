// The fault table: at EVERY wire call of `register --install`, `run` (bootstrap apply path and
// needs-reset path) and `reset`, the stand-in answers that one call with each fault kind
// (500, 502, 429, hang past the agent's request timeout, drop mid-body, garbage JSON, JSON of
// the wrong shape). For every case the agent must log a line naming the failing operation,
// retry the step or go on as SPEC §8 says ("retry" vs "best effort"), complete with exit 0 once
// the server behaves, and leave a file tree byte-identical to the clean run's.
//
// The call sequences are taken from clean runs first (and checked against SPEC §8). Cases run
// in parallel (FAULTS_CONCURRENCY, default 4), one stand-in and one host root per case.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { ApiOp, Fault, FaultSpec, RecordedRequest } from '../support/elemental-api';
import { LABELS } from '../support/elemental-api';
import { WORK_DIR, type Journey, journey } from '../support/lifecycle';
import type { AgentResult } from '../support/spawn-agent';
import { type RegisteredTemplate, type Tree, captureRegistered, diffTrees, journeyReplacements, normaliseTree, replayRegistered, snapshotTree, tempFiles } from '../support/trees';
import { pool } from '../support/pool';
import { withoutTimestamps } from '../support/log-lines';

const RECONCILIATION_MS = 100;
/** The agent's per-request timeout in hang cases (SPEC §6; env knob of the agent). */
const REQUEST_TIMEOUT_ENV = 'ELEMENTAL_AGENT_REQUEST_TIMEOUT';
const HANG_REQUEST_TIMEOUT = '500ms';
/** The stand-in destroys a hung socket after this long, should the agent not time out first. */
const HANG_MS = 3_000;
const CONCURRENCY = Math.max(1, Number(process.env.FAULTS_CONCURRENCY) || 4);
/** Bound of one agent run. */
const AGENT_TIMEOUT_MS = 25_000;
const BOOTSTRAP_CONFIG = '#cloud-config\nruncmd:\n  - [ sh, -c, "echo ok > /run/cluster-api/bootstrap-success.complete" ]\n';
const BOOTSTRAP_TARGET = '/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg';

const OPERATION: Record<ApiOp, string> = {
  getRegistration: 'getting registration',
  createHost: 'creating new host',
  patchHost: 'patching host',
  deleteHost: 'deleting host',
  getBootstrap: 'getting bootstrap',
  unknown: '?',
};

// ---------------------------------------------------------------------------------------------
// Faults

interface FaultDef {
  label: string;
  spec: FaultSpec;
  env?: Record<string, string>;
}

const ALL_FAULTS: FaultDef[] = [
  { label: 'status 500', spec: { kind: 'status', status: 500 } },
  { label: 'status 502', spec: { kind: 'status', status: 502 } },
  { label: 'status 429', spec: { kind: 'status', status: 429, headers: { 'retry-after': '0' } } },
  { label: 'hang', spec: { kind: 'hang', ms: HANG_MS }, env: { [REQUEST_TIMEOUT_ENV]: HANG_REQUEST_TIMEOUT } },
  { label: 'drop mid-body', spec: { kind: 'drop' } },
  { label: 'garbage JSON', spec: { kind: 'garbage' } },
  { label: 'wrong shape', spec: { kind: 'wrongShape' } },
];
/** FAULTS_KINDS='status 500,hang' runs only those faults (the runtime matrix runs a subset). */
const FAULTS_KINDS = process.env.FAULTS_KINDS?.split(',').map((k) => k.trim()).filter(Boolean);
const unknownKinds = FAULTS_KINDS?.filter((k) => !ALL_FAULTS.some((f) => f.label === k)) ?? [];
if (unknownKinds.length) throw new Error(`FAULTS_KINDS: unknown fault ${unknownKinds.join(', ')} (known: ${ALL_FAULTS.map((f) => f.label).join(', ')})`);
const FAULTS = FAULTS_KINDS?.length ? ALL_FAULTS.filter((f) => FAULTS_KINDS.includes(f.label)) : ALL_FAULTS;

// ---------------------------------------------------------------------------------------------
// Scenarios

/** What SPEC §8 says the agent does when this call fails. */
type Policy = 'retry' | 'best-effort' | 'probe';

interface Call {
  op: ApiOp;
  /** JSON of the request body (PATCH), for recognising the same call repeated. */
  body: string;
  policy: Policy;
  label: string;
}

interface Scenario {
  command: string;
  args: string[];
  /** The clean sequence SPEC §8 gives, as `op` or `op body` (checked against the clean run). */
  expected: string[];
  /**
   * Starts from a registered, installed host (the template captured once, see `replayRegistered` in support/trees.ts),
   * then sets up the server side; absent: from the journey's clean starting root.
   */
  registered?: (j: Journey, name: string) => void;
  /** Checks of the end state besides the file tree; returns problems. */
  done(j: Journey, r: AgentResult): string[];
}

function bodyKey(r: RecordedRequest): string {
  return r.op === 'patchHost' ? JSON.stringify(r.body ?? null) : '';
}

function callLabel(r: RecordedRequest): string {
  if (r.op !== 'patchHost') return r.op;
  const b = (r.body ?? {}) as Record<string, unknown>;
  const c = b.condition as Record<string, unknown> | undefined;
  const parts: string[] = [];
  if (typeof b.phase === 'string') parts.push(`phase ${b.phase}`);
  for (const flag of ['installed', 'bootstrapped', 'reset']) if (b[flag] !== undefined) parts.push(`${flag}`);
  if (c) parts.push(`${String(c.type)}=${String(c.status)}${c.reason ? `/${String(c.reason)}` : ''}`);
  return `patchHost ${parts.length ? parts.join(' + ') : '{}'}`;
}

/** SPEC §8's rule for a call of the clean sequences. */
function policyOf(r: RecordedRequest): Policy {
  if (r.op !== 'patchHost') return 'retry';
  const b = (r.body ?? {}) as Record<string, unknown>;
  if (Object.keys(b).length === 0) return 'probe';
  if (b.installed !== undefined || b.reset !== undefined || b.bootstrapped !== undefined) return 'retry';
  if (b.phase === 'Running') return 'retry';
  const c = b.condition as Record<string, unknown> | undefined;
  // RegistrationReady True must reach the server; OSVersionReady True "must succeed, otherwise wait".
  if (c && c.status === 'True' && (c.type === 'RegistrationReady' || c.type === 'OSVersionReady')) return 'retry';
  return 'best-effort';
}

let template: RegisteredTemplate | undefined;

const SCENARIOS: Scenario[] = [
  {
    command: 'register --install',
    args: ['register', '--install'],
    expected: [
      'getRegistration',
      'patchHost {}',
      'createHost',
      'patchHost phase Registering',
      'patchHost phase Finalizing Registration',
      'patchHost RegistrationReady=True',
      'patchHost InstallationReady=False/WaitingForInstallation',
      'patchHost phase Installing',
      'getRegistration',
      'patchHost installed + InstallationReady=True',
    ],
    done(j, r) {
      const problems: string[] = [];
      const hosts = j.api.hosts(j.reg);
      if (hosts.length !== 1) problems.push(`${hosts.length} hosts on the server (${hosts.map((h) => h.name).join(', ')})`);
      const host = hosts[0];
      if (host && host.labels[LABELS.installed] !== 'true') problems.push('host not labelled installed');
      if (host && j.exists(`${WORK_DIR}/private.key`)) {
        try {
          const pub = createPublicKey(createPrivateKey(j.read(`${WORK_DIR}/private.key`))).export({ type: 'spki', format: 'pem' }).toString();
          if (pub !== host.pubKey) problems.push('private.key does not match the public key of the host on the server');
        } catch (err) {
          problems.push(`private.key does not parse: ${(err as Error).message}`);
        }
      }
      if (host && j.exists('/etc/hostname') && j.read('/etc/hostname') !== `${host.name}\n`) problems.push(`/etc/hostname is not the host's name`);
      if (r.calls.some((c) => c.command !== 'hostnamectl')) problems.push(`unexpected commands ${JSON.stringify(r.calls)}`);
      return problems;
    },
  },
  {
    command: 'run (bootstrap)',
    args: ['run'],
    expected: [
      'patchHost phase Running',
      'patchHost OSVersionReady=True',
      'patchHost phase Bootstrapping',
      'getBootstrap',
      'patchHost BootstrapReady=False/WaitingForBootstrap',
    ],
    registered(j, name) {
      j.api.setBootstrap(j.reg, name, { format: 'cloud-config', config: BOOTSTRAP_CONFIG });
    },
    done(j, r) {
      const problems: string[] = [];
      if (!j.exists(BOOTSTRAP_TARGET)) problems.push('bootstrap not applied');
      if (JSON.stringify(r.calls) !== JSON.stringify([{ command: 'reboot', args: ['-f'] }])) problems.push(`commands ${JSON.stringify(r.calls)}, expected one reboot -f`);
      return problems;
    },
  },
  {
    command: 'run (needs reset)',
    args: ['run'],
    expected: ['patchHost phase Running', 'patchHost phase Triggering Reset', 'patchHost ResetReady=False/WaitingForReset'],
    registered(j, name) {
      j.api.deleteHost(j.reg, name);
    },
    done(j, r) {
      const problems: string[] = [];
      if (!j.exists(`${WORK_DIR}/needs.reset`)) problems.push('needs.reset not created');
      if (r.calls.length !== 0) problems.push(`unexpected commands ${JSON.stringify(r.calls)}`);
      return problems;
    },
  },
  {
    command: 'reset',
    args: ['reset'],
    expected: ['patchHost phase Resetting', 'deleteHost', 'getRegistration', 'patchHost reset + ResetReady=True'],
    // Registered, deleted by the operator; `run` would create needs.reset and the operator's
    // automation would remove it again: the same files as not having run at all.
    registered(j, name) {
      j.api.deleteHost(j.reg, name);
    },
    done(j, r) {
      const problems: string[] = [];
      if (j.api.hosts(j.reg).length !== 0) problems.push('the host is still on the server');
      if (r.calls.length !== 0) problems.push(`unexpected commands ${JSON.stringify(r.calls)}`);
      return problems;
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Running one case

interface CaseResult {
  command: string;
  fault: string;
  /** 1-based index of the faulted call in the clean sequence (0 = clean run). */
  k: number;
  call: string;
  policy: Policy | 'clean';
  code: number | null;
  ms: number;
  faultHit: boolean;
  recovered: boolean;
  filesIdentical: boolean;
  logged: boolean;
  policyOk: boolean;
  /** The agent's own request timeout fired (hang cases). */
  timedOut: boolean;
  problems: string[];
  stderr: string;
  tree: Tree;
  sequence: RecordedRequest[];
}

function normalise(j: Journey, tree: Tree): Tree {
  return normaliseTree(tree, journeyReplacements(j));
}

/** Non-debug log lines: what an operator sees without --debug. */
function operatorLines(stderr: string): string[] {
  return withoutTimestamps(stderr).split('\n').filter((l) => /^(INFO|WARN|ERROR|NOTICE)\b/.test(l));
}

/** Injects `spec` so that it hits the `occurrence`-th request of `op` (1-based). */
function armFault(j: Journey, op: ApiOp, occurrence: number, spec: FaultSpec): Promise<Fault> {
  const full = { ...spec, op, times: 1 } as FaultSpec;
  if (occurrence <= 1) return Promise.resolve(j.api.injectFault(full));
  // The previous occurrence has been answered (so it is past the fault matching), and the agent
  // sends nothing before it reads that answer: the injection lands before the next one arrives.
  return j.api
    .waitFor(() => j.api.requests.filter((r) => r.op === op && r.status !== 0).length >= occurrence - 1, AGENT_TIMEOUT_MS)
    .then(() => j.api.injectFault(full));
}

async function runCase(s: Scenario, cleanCalls: Call[] | undefined, k: number, fault: FaultDef | undefined, clean: Tree | undefined): Promise<CaseResult> {
  const j = await journey();
  const call = k > 0 ? cleanCalls?.[k - 1] : undefined;
  const result: CaseResult = {
    command: s.command,
    fault: fault?.label ?? 'none',
    k,
    call: call?.label ?? 'clean run',
    policy: call?.policy ?? 'clean',
    code: null,
    ms: 0,
    faultHit: false,
    recovered: false,
    filesIdentical: false,
    logged: false,
    policyOk: false,
    timedOut: false,
    problems: [],
    stderr: '',
    tree: new Map(),
    sequence: [],
  };
  try {
    if (s.registered) {
      if (!template) throw new Error('no template captured');
      s.registered(j, replayRegistered(j, template));
    }
    j.api.clearRequests();
    let armed: Promise<Fault | undefined> = Promise.resolve(undefined);
    if (call && fault && cleanCalls) {
      const occurrence = cleanCalls.slice(0, k).filter((c) => c.op === call.op).length;
      armed = armFault(j, call.op, occurrence, fault.spec).catch(() => undefined);
    }
    const started = Date.now();
    let r: AgentResult;
    try {
      r = await j.start(s.args, { timeoutMs: AGENT_TIMEOUT_MS, env: fault?.env ?? {} }).result;
    } catch (err) {
      result.problems.push(`agent run failed: ${(err as Error).message}`);
      return result;
    }
    result.ms = Date.now() - started;
    result.code = r.code;
    result.stderr = r.stderr;
    result.sequence = [...j.api.requests];
    const injected = await Promise.race([armed, new Promise<undefined>((res) => setTimeout(() => res(undefined), 100))]);

    // Completion.
    const endProblems = s.done(j, r);
    result.recovered = r.code === 0 && endProblems.length === 0;
    if (r.code !== 0) result.problems.push(`exit ${r.code}${r.signal ? ` (${r.signal})` : ''}`);
    result.problems.push(...endProblems);

    // Files.
    result.tree = normalise(j, snapshotTree(j.root));
    const temps = tempFiles(result.tree);
    if (clean) {
      const diff = diffTrees(clean, result.tree, { ignoreContent: (p) => p.endsWith('/private.key') });
      result.filesIdentical = diff.length === 0;
      result.problems.push(...diff.map((d) => `files: ${d}`));
    } else {
      result.filesIdentical = temps.length === 0;
    }

    if (!call || !fault) {
      result.faultHit = true;
      result.logged = true;
      result.policyOk = true;
      return result;
    }

    // The fault was applied, to the intended call.
    const faulted = result.sequence.findIndex((q) => q.fault !== undefined);
    const hit = result.sequence[faulted];
    result.faultHit = injected !== undefined && injected.hits === 1 && hit !== undefined && hit.op === call.op && bodyKey(hit) === call.body;
    if (!result.faultHit || !hit) {
      result.problems.push(`the fault did not hit call ${k} (${call.label}); hit: ${hit ? callLabel(hit) : 'nothing'}`);
      return result;
    }
    result.timedOut = /timed out/.test(r.stderr);

    // Logged: one operator-visible line naming the failing operation.
    const operation = OPERATION[call.op];
    const lines = operatorLines(r.stderr).filter((l) => /^(WARN|ERROR)\b/.test(l) && l.includes(operation));
    const status = fault.spec.kind === 'status' ? String(fault.spec.status) : undefined;
    result.logged = lines.length > 0 && (status === undefined || lines.some((l) => l.includes(`'${status}'`)));
    if (!result.logged) result.problems.push(`no WARN/ERROR line names '${operation}'${status ? ` and code '${status}'` : ''}`);

    // Retried, or not, as SPEC §8 says.
    const later = result.sequence.slice(faulted + 1);
    const repeats = later.filter((q) => q.op === call.op && bodyKey(q) === call.body);
    const repeatOk = repeats.find((q) => q.status >= 200 && q.status < 300);
    const next = later[0];
    switch (call.policy) {
      case 'retry': {
        if (!repeatOk) result.problems.push('the call was not retried to success');
        else if (repeatOk.time - hit.time < RECONCILIATION_MS * 0.9) {
          result.problems.push(`retried after ${repeatOk.time - hit.time} ms, less than the reconciliation period`);
        } else result.policyOk = true;
        break;
      }
      case 'best-effort':
        if (repeats.length > 0) result.problems.push(`a best-effort report was repeated ${repeats.length} time(s)`);
        else result.policyOk = true;
        break;
      case 'probe': {
        // A probe that fails with anything but an answer (200 found / 404 absent) is retried
        // with the whole registration step after a wait; its repeat then gets a real answer.
        const answered = repeats.find((q) => q.status === 200 || q.status === 404);
        if (answered && answered.time - hit.time >= RECONCILIATION_MS * 0.9) result.policyOk = true;
        else result.problems.push(`after a failed probe the agent sent ${next ? callLabel(next) : 'nothing'}`);
        break;
      }
    }
    return result;
  } catch (err) {
    result.problems.push(`case failed: ${(err as Error).stack ?? String(err)}`);
    return result;
  } finally {
    await j.close();
    rmSync(j.root, { recursive: true, force: true });
  }
}


// ---------------------------------------------------------------------------------------------
// State shared by the tests

interface CleanRun {
  calls: Call[];
  tree: Tree;
  ms: number;
}

const clean = new Map<string, CleanRun>();
const results: CaseResult[] = [];
/** Set when the first test starts (uvu imports every test file before running any). */
let started = Date.now();

/** The case's wire trace, e.g. `patchHost phase Running 500[status] → +112ms patchHost phase Running 200`. */
function trace(c: CaseResult): string {
  const t0 = c.sequence[0]?.time ?? 0;
  return c.sequence.map((q) => `+${q.time - t0}ms ${callLabel(q)} ${q.status}${q.fault ? `[${q.fault}]` : ''}`).join(' → ');
}

function describe(c: CaseResult): string {
  return `${c.command} | k=${c.k} ${c.call} | ${c.fault}: ${c.problems.join('; ')}\n      stderr (operator lines): ${operatorLines(c.stderr).slice(0, 8).join(' / ')}`;
}

test('clean runs: the call sequences of SPEC §8, and the reference file trees', async () => {
  started = Date.now();
  template = await captureRegistered({ timeoutMs: AGENT_TIMEOUT_MS });
  const runs = await pool(SCENARIOS, CONCURRENCY, (s) => runCase(s, undefined, 0, undefined, undefined));
  for (const [i, s] of SCENARIOS.entries()) {
    const r = runs[i]!;
    assert.is(r.code, 0, `${s.command}: ${r.problems.join('; ')}\n${r.stderr}`);
    assert.equal(r.problems, [], s.command);
    assert.equal(tempFiles(r.tree), [], `${s.command}: temp files left`);
    const calls: Call[] = r.sequence.map((q) => ({ op: q.op, body: bodyKey(q), policy: policyOf(q), label: callLabel(q) }));
    assert.equal(calls.map((c) => c.label), s.expected, `${s.command}: clean call sequence`);
    assert.ok(r.sequence.every((q) => q.status >= 200 && q.status < 300 || (q.op === 'patchHost' && q.status === 404 && bodyKey(q) === '{}')), `${s.command}: a clean run has no failed call but the probe`);
    clean.set(s.command, { calls, tree: r.tree, ms: r.ms });
  }
  console.log(`\n  clean runs: ${SCENARIOS.map((s) => `${s.command} N=${clean.get(s.command)!.calls.length} (${clean.get(s.command)!.ms} ms)`).join(', ')}`);
});

test('every call × every fault: logged, retried or not as SPEC §8 says, completed, same files', async () => {
  assert.is(clean.size, SCENARIOS.length, 'the clean runs are needed first');
  const cases: { s: Scenario; k: number; f: FaultDef }[] = [];
  for (const s of SCENARIOS) {
    const n = clean.get(s.command)!.calls.length;
    for (let k = 1; k <= n; k++) for (const f of FAULTS) cases.push({ s, k, f });
  }
  // Slow cases (hang) first, so that the pool ends evenly.
  cases.sort((a, b) => Number(b.f.spec.kind === 'hang') - Number(a.f.spec.kind === 'hang'));
  const out = await pool(cases, CONCURRENCY, ({ s, k, f }) => {
    const c = clean.get(s.command)!;
    return runCase(s, c.calls, k, f, c.tree);
  });
  results.push(...out);
  if (process.env.FAULTS_VERBOSE) {
    for (const c of out) console.log(`\n  ${c.command} | k=${c.k} ${c.call} (${c.policy}) | ${c.fault} | exit ${c.code} in ${c.ms} ms\n    ${trace(c)}\n    ${operatorLines(c.stderr).filter((l) => !l.startsWith('INFO')).join('\n    ')}`);
  }
  assert.is(results.length, cases.length);
});

for (const s of SCENARIOS) {
  test(`${s.command}: every fault case passes`, () => {
    const mine = results.filter((r) => r.command === s.command);
    assert.ok(mine.length > 0, 'no cases ran');
    const failed = mine.filter((r) => r.problems.length > 0);
    assert.ok(failed.length === 0, `${failed.length} of ${mine.length} cases failed:\n    ${failed.map(describe).join('\n    ')}`);
  });
}

// (Not there when FAULTS_KINDS leaves out the hang.)
if (FAULTS.some((f) => f.spec.kind === 'hang')) {
  test('hang cases end by the agent\'s own request timeout', () => {
    const hangs = results.filter((r) => r.fault === 'hang' && r.faultHit);
    assert.ok(hangs.length > 0);
    const notTimedOut = hangs.filter((r) => !r.timedOut);
    assert.ok(notTimedOut.length === 0, `${notTimedOut.length} hang case(s) did not end by the agent's timeout (${REQUEST_TIMEOUT_ENV}=${HANG_REQUEST_TIMEOUT} not honoured?): ${notTimedOut.map((r) => `${r.command} k=${r.k}`).join(', ')}`);
  });
}

// ---------------------------------------------------------------------------------------------
// The lost create answer

/** An answer lost after the server applied the request: dropped, or hung past the timeout. */
const LOST_ANSWER = [
  [{ kind: 'drop' }, {}],
  [{ kind: 'hang', ms: HANG_MS }, { [REQUEST_TIMEOUT_ENV]: HANG_REQUEST_TIMEOUT }],
] as const;

async function lostCreate(spec: FaultSpec, env: Record<string, string> = {}) {
  const j = await journey();
  try {
    j.api.injectFault({ ...spec, op: 'createHost', afterEffects: true, times: 1 } as FaultSpec);
    const r = await j.start(['register', '--install'], { timeoutMs: AGENT_TIMEOUT_MS, env }).result;
    return { j, r, hosts: j.api.hosts(j.reg), requests: [...j.api.requests] };
  } finally {
    await j.close();
    rmSync(j.root, { recursive: true, force: true });
  }
}

test('register: a create whose answer is lost after the host was created leaves ONE host (drop, hang)', async () => {
  for (const [spec, env] of LOST_ANSWER) {
    const { r, hosts, requests } = await lostCreate(spec as FaultSpec, env);
    assert.is(r.code, 0, r.stderr);
    assert.is(hosts.length, 1, `${spec.kind}: hosts ${hosts.map((h) => h.name).join(', ')}`);
    const creates = requests.filter((q) => q.op === 'createHost');
    assert.is(creates.length, 1, `${spec.kind}: one POST`);
    const probes = requests.filter((q) => q.op === 'patchHost' && bodyKey(q) === '{}');
    assert.equal(probes.map((q) => [q.hostName, q.status]), [[creates[0]!.hostName, 404], [creates[0]!.hostName, 200]], `${spec.kind}: the same random name, and the second probe finds the host`);
    assert.is(hosts[0]!.name, creates[0]!.hostName);
    assert.match(r.stderr, /ERROR registering: creating new host/);
    assert.match(r.stderr, /found existing host/);
  }
});

test('register: a lost create answer, then a 5xx on the next probe, still leaves ONE host', async () => {
  // The create landed but its answer was lost; the next probe (which would have found the host)
  // gets a transient 500. A probe failure must not be taken for "no such host" (that used to
  // POST, get 409, forget the random name and register a SECOND host under a new one).
  const j = await journey();
  try {
    j.api.injectFault({ op: 'createHost', kind: 'drop', afterEffects: true, times: 1 });
    const armed = j.api
      .waitFor(() => j.api.requests.some((q) => q.op === 'createHost' && q.status !== 0), AGENT_TIMEOUT_MS)
      .then(() => j.api.injectFault({ op: 'patchHost', kind: 'status', status: 500, times: 1 }))
      .catch(() => undefined);
    const r = await j.start(['register', '--install'], { timeoutMs: AGENT_TIMEOUT_MS }).result;
    await armed;
    assert.is(r.code, 0, r.stderr);
    const hosts = j.api.hosts(j.reg);
    const seq = j.api.requests.map((q) => `${q.op}${q.op === 'createHost' || bodyKey(q) === '{}' ? ` ${q.hostName} → ${q.status}` : ''}`);
    assert.is(hosts.length, 1, `${hosts.length} hosts: ${hosts.map((h) => h.name).join(', ')}\n    requests: ${seq.join('\n              ')}`);
  } finally {
    await j.close();
    rmSync(j.root, { recursive: true, force: true });
  }
});

test('reset: the final PATCH answer lost after the server applied it (host gone) → the agent completes', async () => {
  for (const [spec, env] of LOST_ANSWER) {
    const j = await journey();
    try {
      template ??= await captureRegistered({ timeoutMs: AGENT_TIMEOUT_MS });
      const name = replayRegistered(j, template);
      j.api.deleteHost(j.reg, name);
      j.api.clearRequests();
      // Only the final PATCH {reset: true} takes it: armed once GET registration was answered.
      const armed = j.api
        .waitFor(() => j.api.requests.some((q) => q.op === 'getRegistration' && q.status !== 0), AGENT_TIMEOUT_MS)
        .then(() => j.api.injectFault({ ...(spec as FaultSpec), op: 'patchHost', afterEffects: true, times: 1 } as FaultSpec))
        .catch(() => undefined);
      const r = await j.start(['reset'], { timeoutMs: AGENT_TIMEOUT_MS, env }).result;
      const fault = await armed;
      assert.is(fault?.hits, 1, `${spec.kind}: the final PATCH was faulted`);
      assert.is(r.code, 0, `${spec.kind}: ${r.stderr}`);
      assert.is(j.api.hosts(j.reg).length, 0);
      assert.match(r.stderr, /the host is already gone from the server: reset complete/);
      assert.is(j.read(`${WORK_DIR}/reset.yaml`), 'foo:\n    bar:\n        foobar: barfoo\n');
    } finally {
      await j.close();
      rmSync(j.root, { recursive: true, force: true });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// The table

test.after(() => {
  if (results.length === 0) return;
  const rows: string[][] = [['command', 'fault', 'cases', 'recovered', 'files identical', 'logged', 'retry/go-on as SPEC']];
  const count = (rs: CaseResult[], f: (r: CaseResult) => boolean): string => String(rs.filter(f).length);
  for (const s of SCENARIOS) {
    for (const f of FAULTS) {
      const rs = results.filter((r) => r.command === s.command && r.fault === f.label);
      rows.push([s.command, f.label, String(rs.length), count(rs, (r) => r.recovered), count(rs, (r) => r.filesIdentical), count(rs, (r) => r.logged), count(rs, (r) => r.policyOk)]);
    }
  }
  rows.push(['TOTAL', '', String(results.length), count(results, (r) => r.recovered), count(results, (r) => r.filesIdentical), count(results, (r) => r.logged), count(results, (r) => r.policyOk)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' | ');
  const sep = widths.map((w) => '-'.repeat(w)).join('-|-');
  console.log(`\n\n  Fault table (reconciliation ${RECONCILIATION_MS} ms, hang = ${REQUEST_TIMEOUT_ENV}=${HANG_REQUEST_TIMEOUT}, concurrency ${CONCURRENCY}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  console.log(`  ${line(rows[0]!)}\n  ${sep}`);
  for (const row of rows.slice(1, -1)) console.log(`  ${line(row)}`);
  console.log(`  ${sep}\n  ${line(rows[rows.length - 1]!)}`);
  const failing = results.filter((r) => r.problems.length > 0);
  if (failing.length > 0) {
    const byCall = new Map<string, string[]>();
    for (const r of failing) {
      const key = `${r.command} k=${r.k} (${r.call}, ${r.policy})`;
      byCall.set(key, [...(byCall.get(key) ?? []), r.fault]);
    }
    console.log(`  failing cases by call:\n${[...byCall].map(([key, faults]) => `    ${key}: ${faults.join(', ')}`).join('\n')}`);
  }
  console.log('');
});

test.run();
