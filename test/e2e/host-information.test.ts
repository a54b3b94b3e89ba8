// Host information through the built bundle (SPEC §17): the agent runs with a recorded machine's
// /sys and /proc (a tmpfs over /sys in its own mount namespace, spawn-agent's `machine`), and the
// stand-in sees the labels, annotations and host name that machine's facts make.
import { rmSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { journey, onlyHost, patches, WORK_DIR } from '../support/lifecycle';
import { BOARD, type Machine, SERVER, VM, writeMachine } from '../support/machines';
import { machineUnavailable, runAgent, tempRoot } from '../support/spawn-agent';
import { tempDir } from '../support/temp';

const skip = machineUnavailable();

function machineDir(machine: Machine): string {
  const dir = tempDir('machine-');
  writeMachine(dir, machine);
  return dir;
}

const LABELS = {
  vendor: '${System Information/Manufacturer}',
  shape: '${System Data/CPU/Total Cores}c-${System Data/CPU/Total Threads}t',
  memory: '${Memory/TotalPhysicalBytes}',
  rack: '${Chassis Information/Asset Tag}',
  serial: '${System Information/Serial Number}',
  nic: '${System Data/Network/NIC0/MacAddress}',
  site: 'lab 1: static, sent as is',
};
const ANNOTATIONS = { 'example.com/cpu': '${CPU/Model} x ${CPU/TotalProcessors}', 'example.com/owner': 'sre' };

if (skip) {
  test(`host information e2e skipped: ${skip}`, () => undefined);
} else {
  test('facts --json prints the recorded machine, not this one', async () => {
    const machine = machineDir(SERVER);
    const root = tempRoot();
    try {
      const r = await runAgent(['facts', '--json'], { root, machine });
      assert.is(r.code, 0, r.stderr);
      const facts = JSON.parse(r.stdout) as Record<string, string | null>;
      assert.is(facts['System Information/Serial Number'], 'J8XK2Q2');
      assert.is(facts['Chassis Information/Type'], 'Rack Mount Chassis');
      assert.is(facts['System Data/CPU/Total Threads'], '16');
      assert.is(facts['Storage/TotalDisks'], '3');
      assert.is(facts['System Data/Network/NIC0/Name'], 'eno1');
      assert.is(facts['Base Board Information/Asset Tag'], '');
      const text = await runAgent(['facts'], { root, machine });
      assert.match(text.stdout, /^\$\{System Information\/Serial Number\} \(\$\{Product\/SerialNumber\}\): "J8XK2Q2"$/m);
    } finally {
      rmSync(machine, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('register: templated labels, annotations and host name prefix from the machine; static values byte for byte', async () => {
    const machine = machineDir(SERVER);
    const j = await journey({ agent: { hostname: { prefix: '${System Information/Serial Number}-' } }, registration: { hostLabels: LABELS, hostAnnotations: ANNOTATIONS } });
    try {
      const r = await j.run(['register'], { machine, debug: false });
      assert.is(r.code, 0, r.stderr);
      const post = j.api.requests.find((q) => q.op === 'createHost')!.body as { name: string; labels: Record<string, string>; annotations: Record<string, string> };
      assert.match(post.name, /^j8xk2q2-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(post.labels, {
        vendor: 'Dell-Inc',
        shape: '8c-16t',
        memory: '68719476736',
        rack: 'RACK-B07-U12',
        serial: 'J8XK2Q2',
        nic: 'e4-43-4b-a0-11-20',
        site: 'lab 1: static, sent as is',
      });
      assert.equal(post.annotations, { 'example.com/cpu': 'Intel(R) Xeon(R) Silver 4110 CPU @ 2.10GHz x 2', 'example.com/owner': 'sre' });
      assert.is(onlyHost(j).name, post.name);
      assert.is(j.read('/etc/hostname'), `${post.name}\n`);
      assert.is(j.mode(`${WORK_DIR}/host-templates.json`), 0o600);
      // Serials stay out of the log below --debug (the host name carries it, lower case, as asked).
      assert.not.match(r.stderr, /J8XK2Q2/, r.stderr);
      assert.match(r.stderr, /host label "serial" = \(names this machine: shown with --debug\)/);
      assert.match(r.stderr, /host label "shape" = "8c-16t"/);
    } finally {
      await j.close();
      rmSync(machine, { recursive: true, force: true });
    }
  });

  test('run: a fact that changes (memory hot-added) is PATCHed once, with the phase; unchanged ones add nothing', async () => {
    const before = machineDir(VM);
    const after = machineDir({ ...VM, files: { ...VM.files, 'sys/devices/system/memory/memory16/online': '1\n', 'sys/devices/system/memory/memory17/online': '1\n' } });
    const j = await journey({ registration: { hostLabels: { memory: '${System Data/Memory/Total Physical Bytes}', cores: '${CPU/TotalCores}', site: 'lab-1' } } });
    try {
      const r = await j.run(['register'], { machine: before });
      assert.is(r.code, 0, r.stderr);
      const name = onlyHost(j).name;
      assert.is(onlyHost(j).labels.memory, String(16 * 0x8000000));
      j.api.clearRequests();
      const running = j.start(['run'], { machine: after });
      await j.api.waitFor(() => patches(j, name).filter((body) => 'phase' in body).length >= 3, 10_000);
      running.child.kill('SIGTERM');
      const run = await running.result;
      assert.is(run.code, 143, run.stderr);
      // The reconcile PATCHes (the others report conditions of the OS version phase).
      const reconciles = () => patches(j, name).filter((body) => 'phase' in body);
      const bodies = reconciles();
      assert.equal(bodies[0], { phase: 'Running', labels: { memory: String(18 * 0x8000000) } });
      for (const body of bodies.slice(1)) assert.equal(body, { phase: 'Running' });
      assert.is(onlyHost(j).labels.memory, String(18 * 0x8000000));
      assert.is(onlyHost(j).labels.site, 'lab-1');
      assert.match(run.stderr, /host label "memory" updated \(its facts changed\)/);
      // What was sent is kept: a second run sends nothing new.
      j.api.clearRequests();
      const again = j.start(['run'], { machine: after });
      await j.api.waitFor(() => reconciles().length >= 2, 10_000);
      again.child.kill('SIGTERM');
      await again.result;
      for (const body of reconciles()) assert.equal(body, { phase: 'Running' });
    } finally {
      await j.close();
      rmSync(before, { recursive: true, force: true });
      rmSync(after, { recursive: true, force: true });
    }
  });

  test('a mistyped variable refuses the registration in one line, before anything is created', async () => {
    const machine = machineDir(VM);
    const j = await journey({ registration: { hostLabels: { serial: '${System Information/Serial Numbr}' } } });
    try {
      const r = await j.run(['register'], { machine, debug: false });
      assert.is(r.code, 1, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.match(
        lines.at(-1)!,
        /host label "serial": unknown variable \$\{System Information\/Serial Numbr\}; did you mean \$\{System Information\/Serial Number\}\?/,
      );
      assert.not.match(r.stderr, /at .*\.js:\d+/, 'no stack trace');
      assert.equal(j.api.requests.filter((q) => q.op === 'createHost'), []);
      assert.is(j.exists(`${WORK_DIR}/private.key`), false);
    } finally {
      await j.close();
      rmSync(machine, { recursive: true, force: true });
    }
  });

  test('no DMI (an arm64 board) and noSmbios: SMBIOS labels are "" with one WARN each; hardware ones still expand', async () => {
    const board = machineDir(BOARD);
    const vm = machineDir(VM);
    const labels = { serial: '${System Information/Serial Number}', cores: '${System Data/CPU/Total Cores}', disk: '${Storage/Disks/mmcblk0/StorageController}' };
    const a = await journey({ registration: { hostLabels: labels } });
    const b = await journey({ agent: { noSmbios: true }, registration: { hostLabels: labels } });
    try {
      const r = await a.run(['register'], { machine: board, debug: false });
      assert.is(r.code, 0, r.stderr);
      assert.equal(onlyHost(a).labels, { serial: '', cores: '4', disk: 'MMC' });
      assert.match(r.stderr, /WARN {2}host label "serial": \$\{System Information\/Serial Number\} expands to "": this machine has no value for it \(\/sys\/class\/dmi\/id\/product_serial\)/);
      assert.match(r.stderr, /WARN {2}host label "disk"|host label "disk" = "MMC"/);
      const s = await b.run(['register'], { machine: vm, debug: false });
      assert.is(s.code, 0, s.stderr);
      assert.equal(onlyHost(b).labels, { serial: '', cores: '2', disk: '' });
      assert.match(s.stderr, /\$\{System Information\/Serial Number\} expands to "": agent.noSmbios is true/);
      assert.match(s.stderr, /\$\{Storage\/Disks\/mmcblk0\/StorageController\} expands to "": this machine has no such device/);
    } finally {
      await a.close();
      await b.close();
      rmSync(board, { recursive: true, force: true });
      rmSync(vm, { recursive: true, force: true });
    }
  });
}

test.run();
