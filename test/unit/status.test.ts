// status's decision (src/status.ts decide): every state and its one line, from facts alone.
// The e2e test (test/e2e/status.test.ts) drives the main states through the built agent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ApiError } from '../../src/api/client';
import { type ServerView, type StatusFacts, decide, formatAge } from '../../src/status';

const NOW = new Date(Date.UTC(2026, 11, 1, 12, 0, 0));
const BOOT = new Date(NOW.getTime() - 10 * 60_000); // booted 10 min ago
const KEY = '/var/lib/elemental/agent/private.key';
const CFG = '/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg';
const SENTINEL = '/run/cluster-api/bootstrap-success.complete';

const VIEW: ServerView = { installed: true, bootstrapReady: false, bootstrapped: false, needsReset: false, inPlaceUpgrade: '' };

/** `files`: name → minutes ago. */
function facts(o: { view?: Partial<ServerView>; error?: Error; files?: Record<string, number>; identity?: StatusFacts['identity']; bootTime?: Date | null } = {}): StatusFacts {
  const paths: Record<string, string> = {
    'install.yaml': '/var/lib/elemental/agent/install.yaml',
    'os-version.yaml': '/var/lib/elemental/agent/os-version.yaml',
    'needs.reset': '/var/lib/elemental/agent/needs.reset',
    'reset.yaml': '/var/lib/elemental/agent/reset.yaml',
    'bootstrap (cloud-config)': CFG,
    'bootstrap sentinel': SENTINEL,
    'pending-registration.json': '/var/lib/elemental/agent/pending-registration.json',
  };
  const files = new Map(Object.entries(o.files ?? {}).map(([name, min]) => [name, { path: paths[name]!, modified: new Date(NOW.getTime() - min * 60_000) }]));
  return {
    now: NOW,
    bootTime: o.bootTime === null ? undefined : (o.bootTime ?? BOOT),
    identity: o.identity ?? 'private.key',
    identityProblem: 'private key /x is corrupt or truncated',
    privateKeyPath: KEY,
    pendingPath: paths['pending-registration.json']!,
    files,
    host: 'm-1',
    server: o.error ? { error: o.error } : o.identity && o.identity !== 'private.key' ? undefined : { view: { ...VIEW, ...o.view } },
  };
}

const status = (code: number) => new ApiError('patching host', `patching host returned code '${code}'`, { kind: 'status', statusCode: code });

const CASES: [string, StatusFacts, string, string][] = [
  ['no key', facts({ identity: 'none' }), 'not-registered', `not registered: no ${KEY}: run 'elemental-agent register'`],
  ['pending', facts({ identity: 'pending-registration', files: { 'pending-registration.json': 2 } }), 'registration-in-progress',
    `not registered: a registration is in progress (pending-registration.json written 2 min ago), no ${KEY} yet: 'elemental-agent register' finishes it`],
  ['bad key', facts({ identity: 'unusable' }), 'identity-unusable', 'identity unusable: private key /x is corrupt or truncated'],
  ['TLS', facts({ error: new ApiError('patching host', 'patching host: TLS handshake with 127.0.0.1:8443 failed: self-signed certificate', { kind: 'tls' }) }),
    'server-unreachable', 'server unreachable: patching host: TLS handshake with 127.0.0.1:8443 failed: self-signed certificate'],
  ['404', facts({ error: status(404) }), 'unknown-to-server',
    "the server does not know host 'm-1' (patching host returned code '404'): it was deleted on the server, or this host's name or key do not match its registration"],
  ['403', facts({ error: status(403) }), 'server-error', `the server refuses this host's key (patching host returned code '403'): was ${KEY} replaced?`],
  ['500', facts({ error: status(500) }), 'server-error', "the server answers with an error: patching host returned code '500'"],
  ['not installed', facts({ view: { installed: false } }), 'waiting-for-installation',
    "waiting for the installation: not installed yet: run 'elemental-agent install' (or 'register --install')"],
  ['install.yaml, not reported', facts({ view: { installed: false }, files: { 'install.yaml': 4 } }), 'waiting-for-install-report',
    "waiting for the agent to report the installation: install.yaml written 4 min ago, but the server does not have the host installed: run 'elemental-agent install'"],
  ['install hooks', facts({ files: { 'install.yaml': 3 } }), 'waiting-for-install-hooks', 'waiting for the install hooks: install.yaml written 3 min ago, no reboot yet'],
  ['installed, rebooted, no machine', facts({ files: { 'install.yaml': 30 } }), 'waiting-for-bootstrap-secret',
    'waiting for a bootstrap: installed, no bootstrap secret for this host yet (no ElementalMachine has claimed it)'],
  ['bootstrap ready, not applied', facts({ view: { bootstrapReady: true }, files: { 'install.yaml': 30 } }), 'waiting-for-bootstrap-apply',
    "waiting for 'elemental-agent run' to apply the bootstrap: the server has it ready, no bootstrap file written yet"],
  ['bootstrap written, no reboot', facts({ view: { bootstrapReady: true }, files: { 'bootstrap (cloud-config)': 1 } }), 'waiting-for-bootstrap-reboot',
    `waiting for the reboot that runs the bootstrap: ${CFG} written 1 min ago, no reboot since`],
  ['bootstrap written, rebooted', facts({ view: { bootstrapReady: true }, files: { 'bootstrap (cloud-config)': 12 } }), 'waiting-for-bootstrap-run',
    `waiting for the bootstrap to run: ${CFG} written 12 min ago, the host has booted since (10 min ago), sentinel ${SENTINEL} missing`],
  ['bootstrap written, boot time unknown', facts({ view: { bootstrapReady: true }, files: { 'bootstrap (cloud-config)': 12 }, bootTime: null }), 'waiting-for-bootstrap-run',
    `waiting for the bootstrap to run: ${CFG} written 12 min ago, sentinel ${SENTINEL} missing`],
  ['sentinel there', facts({ view: { bootstrapReady: true }, files: { 'bootstrap (cloud-config)': 12, 'bootstrap sentinel': 8 } }), 'waiting-for-bootstrap-report',
    `waiting for 'elemental-agent run' to report the bootstrap: ${SENTINEL} exists (8 min old)`],
  ['needs reset', facts({ view: { needsReset: true, bootstrapped: true } }), 'waiting-for-reset-trigger',
    "waiting for 'elemental-agent run' to trigger the reset: the host is marked for deletion, no needs.reset yet"],
  ['needs.reset there', facts({ view: { needsReset: true }, files: { 'needs.reset': 5 } }), 'waiting-for-reset-hooks',
    "waiting for the reset hooks: needs.reset written 5 min ago; they remove it once the host is prepared, then run 'elemental-agent reset'"],
  ['reset.yaml there', facts({ view: { needsReset: true }, files: { 'reset.yaml': 2 } }), 'waiting-for-reset',
    "waiting for the reset to finish: reset.yaml written 2 min ago, the server has not removed the host yet: run 'elemental-agent reset' again"],
  ['in-place update', facts({ view: { bootstrapped: true, inPlaceUpgrade: 'pending' }, files: { 'os-version.yaml': 1 } }), 'in-place-update-pending',
    'waiting for the in-place update: os-version.yaml written 1 min ago'],
  ['running', facts({ view: { bootstrapped: true, inPlaceUpgrade: 'done' } }), 'running', 'nothing: installed and bootstrapped, the agent reconciles'],
];

test('each state and its line', () => {
  for (const [label, f, state, line] of CASES) {
    assert.equal(decide(f), { state, line }, label);
  }
});

test('ages as an operator says them', () => {
  assert.is(formatAge(-5), '0 s');
  assert.is(formatAge(59_999), '59 s');
  assert.is(formatAge(60_000), '1 min');
  assert.is(formatAge(3_599_999), '59 min');
  assert.is(formatAge(3_600_000), '1 h');
  assert.is(formatAge(47 * 3_600_000), '47 h');
  assert.is(formatAge(3 * 86_400_000), '3 d');
});

test.run();
