// The real-boot suite (`npm run test:boot`): the Dummy workflow in a real Debian bookworm image
// with real systemd and cloud-init, booted under QEMU (TCG), against the stand-in Elemental API
// on 127.0.0.1. Everything is asserted from outside: the stand-in's wire log and host state, the
// serial console, and the guest disk's files read with debugfs after each boot.
//
//   image      first boot (cloud-init, registration, install, postInstall reboot) -> install
//              hooks -> run, os-version hooks, bootstrap written, reboot -> cloud-init executes
//              the bootstrap -> reset, postReset power-off -> a new registration
//   initramfs  busybox + node initramfs registers the host onto /sysroot; the disk then boots
//              under that name and `run` reconciles it
//
// Usage: node scripts/run-ts.mjs test/boot/boot.ts [image] [initramfs]   (default: both)
// Needs root, qemu-system-x86_64, debootstrap (first run), mkfs.ext4/debugfs, cpio, busybox-static.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startElementalApi, type ElementalApi, type RegistrationHandle, type StoredHost } from '../support/elemental-api';
import { EXAMPLES, MARKERS, buildInitramfs, buildRoot, fillUserData, prepareRoot, write, writeSeed } from './image';
import { API_GUEST_NAME, boot, cleanup, diskMode, diskRead, have, kernelOf, makeDisk, trackPath, type Boot, type BootOptions } from './vm';

const WORK = '/var/lib/elemental/agent';
const CONFIG = '/etc/elemental/agent/config.yaml';
const BOOTSTRAP_FILE = '/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg';
/** Per boot: generous, the machine is shared and TCG is slow; a boot measured 15-60 s. */
const BOOT_TIMEOUT_MS = Number(process.env.ELEMENTAL_BOOT_TIMEOUT_MS ?? 600_000);
const LABEL = 'elementalhost.infrastructure.cluster.x-k8s.io/';

// ---------------------------------------------------------------------------------------------
// Results and timings

interface StageResult {
  scenario: string;
  stage: string;
  ok: boolean;
  detail: string;
}
const results: StageResult[] = [];
const timings: [string, string][] = [];

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

class StageError extends Error {}

/** Runs one stage's checks; a failed check fails the stage (and the rest of its scenario). */
async function stage(scenario: string, name: string, fn: () => Promise<string> | string): Promise<void> {
  try {
    const detail = await fn();
    results.push({ scenario, stage: name, ok: true, detail });
    console.log(`  ok    ${scenario}: ${name}${detail ? ` (${detail})` : ''}`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    results.push({ scenario, stage: name, ok: false, detail: message.split('\n')[0]! });
    console.log(`  FAIL  ${scenario}: ${name}\n${message.replace(/^/gm, '        ')}`);
    throw new StageError(message);
  }
}

function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

function mode(disk: string, path: string): string {
  const m = diskMode(disk, path);
  return m === undefined ? 'missing' : m.toString(8).padStart(4, '0');
}

// ---------------------------------------------------------------------------------------------
// The stand-in, over HTTPS with a certificate for the name the guest uses

function makePki(dir: string): { caCertPem: string; certPem: string; keyPem: string } {
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt',
    '-days', '2', '-subj', '/CN=boot-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${API_GUEST_NAME}`]);
  writeFileSync(join(dir, 'server.ext'), `subjectAltName=DNS:${API_GUEST_NAME}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext']);
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return { caCertPem: read('ca.crt'), certPem: read('server.crt'), keyPem: read('server.key') };
}

/** The ElementalRegistration's agent config: what the host runs with once registered. */
const SERVER_AGENT = {
  workDir: WORK,
  hostname: { prefix: 'm-' },
  osPlugin: 'dummy',
  reconciliation: 3_000_000_000,
  postInstall: { reboot: true },
  postReset: { powerOff: true },
};

// ---------------------------------------------------------------------------------------------
// Host information (SPEC §17): the guest's firmware gets SMBIOS tables, and the registration's
// labels, annotations and host name prefix are templated on them and on the hardware.

interface Machine {
  serial: string;
  uuid: string;
  smp: number;
  memoryMiB: number;
}

const HOST_LABELS = {
  'example.com/serial': '${System Information/Serial Number}',
  'example.com/vendor': '${System Information/Manufacturer}',
  'example.com/board': '${Base Board Information/Product Name}',
  'example.com/rack': '${Chassis Information/Asset Tag}',
  'example.com/cores': '${System Data/CPU/Total Cores}',
  'example.com/memory': '${System Data/Memory/Total Physical Bytes}',
  'example.com/disk': '${Storage/Disks/vda/StorageController}',
  'example.com/nic1': '${System Data/Network/eth1/IPv4Address}',
  'example.com/site': 'boot lab, sent as is',
};
const HOST_ANNOTATIONS = { 'example.com/uuid': '${System Information/UUID}', 'example.com/nics': '${Network/TotalNICs}' };
const SERIAL_PREFIX = '${System Information/Serial Number}-';

function smbios(m: Machine): string[] {
  return [
    `type=1,manufacturer=Elemental Lab,product=Boot Test,version=1.0,serial=${m.serial},uuid=${m.uuid},sku=BT-1,family=Lab`,
    'type=2,manufacturer=Board Works,product=BT-Board,version=A01,serial=BRD-42,asset=BOARD-ASSET-7',
    `type=3,manufacturer=Chassis Co,version=2,serial=CH-${m.serial},asset=RACK-A1-U7`,
  ];
}

/** What the POST must carry on this machine: every fact as sysfs gives it; eth1 has no address yet. */
function expectedRegistration(m: Machine): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: {
      'example.com/serial': m.serial,
      'example.com/vendor': 'Elemental-Lab',
      'example.com/board': 'BT-Board',
      'example.com/rack': 'RACK-A1-U7',
      'example.com/cores': String(m.smp),
      'example.com/memory': String(m.memoryMiB * 2 ** 20),
      'example.com/disk': 'virtio',
      'example.com/nic1': '',
      'example.com/site': 'boot lab, sent as is',
    },
    annotations: { 'example.com/uuid': m.uuid, 'example.com/nics': '2' },
  };
}

/** The POST of `name`: its labels and annotations are the machine's, and its name starts with the serial. */
function checkRegistered(api: ElementalApi, name: string, m: Machine): string {
  const post = api.requests.find((r) => r.op === 'createHost' && r.hostName === name && r.status === 201);
  check(post, `no POST of ${name}`);
  const body = post.body as { labels?: Record<string, string>; annotations?: Record<string, string> };
  const want = expectedRegistration(m);
  check(JSON.stringify(body.labels) === JSON.stringify(want.labels), `POSTed labels ${JSON.stringify(body.labels)}, want ${JSON.stringify(want.labels)}`);
  check(JSON.stringify(body.annotations) === JSON.stringify(want.annotations), `POSTed annotations ${JSON.stringify(body.annotations)}, want ${JSON.stringify(want.annotations)}`);
  check(new RegExp(`^${m.serial.toLowerCase()}-[0-9a-f-]{36}$`).test(name), `host name ${name} does not start with the serial`);
  return `POST labels and annotations from SMBIOS, CPU, memory, disk; name from the serial`;
}

/** After eth1 got its address (the install hook): exactly one PATCH carried the new label, with the phase. */
function checkNicLabelPatched(api: ElementalApi, reg: RegistrationHandle, name: string): string {
  const withLabels = api.requests.filter((r) => r.op === 'patchHost' && r.hostName === name && r.status === 200 && (r.body as { labels?: unknown }).labels !== undefined);
  const bodies = withLabels.map((r) => JSON.stringify(r.body));
  check(bodies.length === 1 && bodies[0] === JSON.stringify({ phase: 'Running', labels: { 'example.com/nic1': '10.0.3.15' } }), `PATCHes with labels: ${bodies.join(' | ') || 'none'}`);
  check(api.host(reg, name)?.labels['example.com/nic1'] === '10.0.3.15', 'the host does not carry the NIC label');
  return 'eth1 address PATCHed once, with the phase';
}

function hosts(api: ElementalApi, reg: RegistrationHandle): StoredHost[] {
  return api.hosts(reg);
}

function condition(h: StoredHost | undefined, type: string) {
  return h?.conditions.find((c) => c.type === type);
}

/** Waits on the stand-in while the guest runs: fails at once when QEMU exits first. */
async function whileRunning<T>(vm: Boot, what: string, wait: Promise<T>): Promise<T> {
  const exited = vm.exited.then((e) => {
    throw new Error(`the guest stopped (QEMU exit ${e.code ?? e.signal}) before ${what}\n--- serial console (last 80 lines) ---\n${vm.serial().split('\n').slice(-80).join('\n')}`);
  });
  try {
    return await Promise.race([wait, exited]);
  } catch (err) {
    if (err instanceof Error && /timed out|timeout/i.test(err.message)) {
      throw new Error(`${what}: not within ${BOOT_TIMEOUT_MS / 1000} s (${err.message})\n--- serial console (last 80 lines) ---\n${vm.serial().split('\n').slice(-80).join('\n')}`);
    }
    throw err;
  }
}

function serialHas(vm: Boot, re: RegExp): boolean {
  return re.test(vm.serial());
}

/** Lines a recording hook appended (see image.ts), or []. */
function markerLines(disk: string, name: string): string[] {
  return (diskRead(disk, `${MARKERS}/${name}`) ?? '').split('\n').filter(Boolean);
}

// ---------------------------------------------------------------------------------------------
// Scenario "image": the whole seed across four real boots

const IMAGE_MACHINE: Machine = { serial: 'BT-IMG-0001', uuid: '6d1f0c2a-1b2c-4d3e-8f90-a1b2c3d4e5f6', smp: 1, memoryMiB: 1024 };
const INITRAMFS_MACHINE: Machine = { serial: 'BT-INI-0002', uuid: '0b7e6d5c-4a3b-4c2d-9e1f-f6e5d4c3b2a1', smp: 2, memoryMiB: 768 };

async function imageScenario(cached: string, api: ElementalApi, pkiCa: string, tmp: string): Promise<void> {
  const S = 'image';
  const reg = api.addRegistration({
    name: 'boot-image',
    baseUrl: `https://${API_GUEST_NAME}:${api.port}`,
    agent: { ...SERVER_AGENT, hostname: { prefix: SERIAL_PREFIX } },
    hostLabels: HOST_LABELS,
    hostAnnotations: HOST_ANNOTATIONS,
    install: { device: '/dev/vda', bootTest: 'install' },
    reset: { resetOem: true },
    cloudConfig: { users: [{ name: 'boot-test', lock_passwd: true }] },
  });
  const dir = trackPath(mkdtempSync(join(tmp, 'image-')));
  const prepStart = Date.now();
  const root = prepareRoot(cached, dir, { cloudInit: true });
  const userData = fillUserData(readFileSync(join(EXAMPLES, 'cloud-init/user-data.yaml'), 'utf8'), { uri: reg.uri, caCertPem: pkiCa, token: reg.token });
  writeSeed(root, 'iid-boot-test-image', userData);
  const { kernel, initrd } = kernelOf(root);
  const disk = join(dir, 'disk.img');
  makeDisk(root, disk);
  timings.push(['image: copy, install.sh, seed, mkfs.ext4', secs(Date.now() - prepStart)]);
  const lifecycleStart = Date.now();
  // A failed stage ends the scenario: its QEMU goes at once, not when the other scenario ends.
  const vms: Boot[] = [];
  const startBoot = () => {
    const vm = boot({ kernel, initrd, disk, apiPort: api.port, serialLog: join(dir, `serial-${vms.length + 1}.log`), smbios: smbios(IMAGE_MACHINE), memoryMiB: IMAGE_MACHINE.memoryMiB, secondNic: true });
    vms.push(vm);
    return vm;
  };
  try {
    await imageBoots(S, api, reg, disk, startBoot);
  } finally {
    await Promise.all(vms.map((vm) => vm.kill()));
  }
  timings.push(['image: whole lifecycle (4 boots)', secs(Date.now() - lifecycleStart)]);
}

async function imageBoots(S: string, api: ElementalApi, reg: RegistrationHandle, disk: string, startBoot: () => Boot): Promise<void> {
  // ---- boot 1: cloud-init -> register --install -> postInstall reboot
  let host: StoredHost | undefined;
  let configAfterRegister = '';
  await stage(S, '1a first boot: cloud-init and multi-user.target do not wait for the registration', async () => {
    // The API refuses the registration until the guest's boot is over: the agent keeps retrying.
    const refusal = api.injectFault({ op: 'getRegistration', pathPattern: `/registrations/${reg.name}`, kind: 'status', status: 503, times: Infinity });
    const vm = startBoot();
    await whileRunning(vm, 'the first registration attempt', api.waitForRequest((r) => r.op === 'getRegistration' && r.registration === reg.name && r.status === 503, BOOT_TIMEOUT_MS));
    await whileRunning(vm, 'cloud-init finished and the boot finished', (async () => {
      await vm.waitForSerial(/Cloud-init v\. \S+ finished at/, BOOT_TIMEOUT_MS);
      await vm.waitForSerial(/Startup finished in/, BOOT_TIMEOUT_MS);
    })());
    check(serialHas(vm, /Reached target.*Multi-User System/), 'multi-user.target not reached while the registration waits');
    check(api.hosts(reg).length === 0, 'a host was created although the registration was refused');
    api.clearFaults(); // the only fault of the suite
    check(refusal.hits >= 1, 'no refused registration');
    const bootMs = await vm.waitForExit(BOOT_TIMEOUT_MS);
    timings.push(['image: boot 1: cloud-init, register --install, postInstall reboot', secs(bootMs)]);
    check(!serialHas(vm, /ordering cycle/i), 'systemd found an ordering cycle');
    return `${refusal.hits} refused attempt(s) while cloud-init finished and the boot completed`;
  });

  await stage(S, '1b registered and installed; the host carries the registered name', () => {
    const all = hosts(api, reg);
    check(all.length === 1, `hosts: ${all.map((h) => h.name).join(', ') || 'none'}`);
    host = all[0]!;
    check(host.labels[`${LABEL}installed`] === 'true', 'not installed');
    check(condition(host, 'InstallationReady')?.status === 'True', `InstallationReady: ${JSON.stringify(condition(host, 'InstallationReady'))}`);
    const create = api.requests.find((r) => r.op === 'createHost' && r.hostName === host!.name && r.status === 201);
    const installed = api.requests.find((r) => r.op === 'patchHost' && r.hostName === host!.name && r.status === 200 && (r.body as { installed?: boolean } | undefined)?.installed === true);
    if (create && installed) timings.push(['image: register (POST host) to InstallationReady', secs(installed.time - create.time)]);
    check(diskRead(disk, '/etc/hostname') === `${host.name}\n`, `/etc/hostname: ${JSON.stringify(diskRead(disk, '/etc/hostname'))}, host ${host.name}`);
    check(mode(disk, `${WORK}/private.key`) === '0600', `private.key mode ${mode(disk, `${WORK}/private.key`)}`);
    check(diskRead(disk, `${WORK}/install.yaml`)?.includes('bootTest: install'), 'no install.yaml with the registration\'s install config');
    const registered = checkRegistered(api, host.name, IMAGE_MACHINE);
    check(mode(disk, `${WORK}/host-templates.json`) === '0600', `host-templates.json mode ${mode(disk, `${WORK}/host-templates.json`)}`);
    configAfterRegister = diskRead(disk, CONFIG) ?? '';
    check(configAfterRegister.includes('reconciliation: 3s') && configAfterRegister.includes(reg.uri), `config.yaml is not the registration's:\n${configAfterRegister}`);
    return `${host.name}, install.yaml ${mode(disk, `${WORK}/install.yaml`)}; ${registered}`;
  });
  check(host, 'no host');
  const name = host.name;
  api.setOsVersionManagement(reg, name, { osImage: 'registry.test/os:v1', bootTest: 'os-version' });

  // ---- boot 2: install hooks (cut by the reboot in boot 1) -> run -> os-version hooks -> bootstrap -> reboot
  const bootstrap = [
    '#cloud-config',
    'write_files:',
    `  - path: ${MARKERS}/bootstrap-write-files`,
    '    content: "written by the CAPI bootstrap\\n"',
    'runcmd:',
    `  - [sh, -c, 'mkdir -p ${MARKERS} && echo "runcmd boot=$(cat /proc/sys/kernel/random/boot_id)" >>${MARKERS}/bootstrap-runcmd']`,
    '  - [mkdir, -p, /run/cluster-api]',
    '  - [touch, /run/cluster-api/bootstrap-success.complete]',
    '',
  ].join('\n');
  await stage(S, '2 run: install hooks before the loop, os-version hooks, bootstrap written, reboot', async () => {
    const vm = startBoot();
    await whileRunning(vm, 'OSVersionReady', api.waitFor(() => condition(api.host(reg, name), 'OSVersionReady')?.status === 'True', BOOT_TIMEOUT_MS));
    check(api.host(reg, name)?.phase !== undefined, 'no phase');
    api.setBootstrap(reg, name, { format: 'cloud-config', config: bootstrap });
    const bootMs = await vm.waitForExit(BOOT_TIMEOUT_MS);
    timings.push(['image: boot 2: install hooks, run, os-version hooks, bootstrap, reboot', secs(bootMs)]);
    const install = markerLines(disk, 'install-hook');
    check(install.length >= 1, 'the install hooks never ran');
    check(install.every((l) => l.includes(`file=${WORK}/install.yaml`)), install.join('\n'));
    check(install.some((l) => / agent=activating$/.test(l)), `the install hooks did not run before the reconcile loop started: ${install.join(' | ')}`);
    const osVersion = markerLines(disk, 'os-version-hook');
    const osContent = diskRead(disk, `${WORK}/os-version.yaml`) ?? '';
    const sha = createHash('sha256').update(osContent).digest('hex').slice(0, 12);
    check(osContent.includes('bootTest: os-version'), `os-version.yaml: ${JSON.stringify(osContent)}`);
    check(osVersion.length === 1 && osVersion[0]!.includes(`sha=${sha}`), `os-version hook runs: ${osVersion.join(' | ') || 'none'}`);
    check(diskRead(disk, BOOTSTRAP_FILE) === bootstrap, 'the bootstrap file is not the bootstrap');
    const c = condition(api.host(reg, name), 'BootstrapReady');
    check(c?.reason === 'WaitingForBootstrap', `BootstrapReady: ${JSON.stringify(c)}`);
    const nic = checkNicLabelPatched(api, reg, name);
    return `install hooks ${install.length}x (in ExecStartPre), os-version hooks once, bootstrap file ${mode(disk, BOOTSTRAP_FILE)}; ${nic}`;
  });

  // ---- boot 3: cloud-init executes the bootstrap -> bootstrapped -> reset -> postReset power-off
  let bootstrapBoot: Boot | undefined; // the boot stage 4 goes on with
  await stage(S, '3 real cloud-init executes the bootstrap once, without the first-boot user-data; bootstrapped', async () => {
    const vm = startBoot();
    await whileRunning(vm, 'the host bootstrapped', api.waitFor(() => api.host(reg, name)?.labels[`${LABEL}bootstrapped`] === 'true', BOOT_TIMEOUT_MS));
    const bootstrappedAt = Date.now() - vm.startedAt;
    check(condition(api.host(reg, name), 'BootstrapReady')?.status === 'True', 'BootstrapReady not True');
    bootstrapBoot = vm;
    timings.push(['image: boot 3: bootstrap executed, bootstrapped reported', secs(bootstrappedAt)]);
    return '';
  });

  await stage(S, '4 needs.reset -> reset hooks -> elemental-agent reset -> postReset powers off; host gone', async () => {
    const vm = bootstrapBoot!;
    // A failure to find in the journal by its priority (journalctl -p err, dumped by a reset hook).
    const failure = api.injectFault({ op: 'patchHost', pathPattern: `/hosts/${name}`, kind: 'status', status: 500, times: 1 });
    await whileRunning(vm, 'the injected PATCH failure', api.waitFor(() => failure.hits >= 1, BOOT_TIMEOUT_MS));
    const deletedAt = Date.now();
    api.deleteHost(reg, name);
    await whileRunning(vm, 'the host reset and gone', api.waitFor(() => api.host(reg, name) === undefined, BOOT_TIMEOUT_MS));
    const bootMs = await vm.waitForExit(BOOT_TIMEOUT_MS);
    timings.push(['image: boot 3: deletion to power-off', secs(Date.now() - deletedAt)]);
    timings.push(['image: boot 3: whole boot', secs(bootMs)]);
    check(api.requests.some((r) => r.op === 'deleteHost' && r.hostName === name && r.status === 202), 'no DELETE from the agent');
    // `run` reported the trigger and ended by itself before the reset began (not stopped by it).
    const waiting = api.requests.find((r) => r.op === 'patchHost' && r.hostName === name && r.status === 200 && (r.body as { condition?: { reason?: string } } | undefined)?.condition?.reason === 'WaitingForReset');
    check(waiting, 'run never reported ResetReady WaitingForReset');
    check(!/elemental-agent\[\d+\]: .*SIGTERM received/.test(vm.serial()), 'the reconcile loop was stopped (SIGTERM) instead of ending by itself');
    // Boot 3's checks of the bootstrap, now that the disk is at rest.
    const runcmd = markerLines(disk, 'bootstrap-runcmd');
    check(runcmd.length === 1, `the bootstrap's runcmd ran ${runcmd.length} times`);
    check(diskRead(disk, `${MARKERS}/bootstrap-write-files`) === 'written by the CAPI bootstrap\n', 'the bootstrap\'s write_files did not run');
    check(diskRead(disk, CONFIG) === configAfterRegister, `the first-boot user-data was applied again: config.yaml is\n${diskRead(disk, CONFIG)}`);
    check(diskRead(disk, '/etc/hostname') === `${name}\n`, `the registered name was lost: /etc/hostname ${JSON.stringify(diskRead(disk, '/etc/hostname'))}`);
    const reset = markerLines(disk, 'reset-hook');
    check(reset.length === 1 && reset[0]!.includes(`file=${WORK}/needs.reset`), `reset hooks: ${reset.join(' | ') || 'none'}`);
    check(diskRead(disk, `${WORK}/reset.yaml`)?.includes('resetOem: true'), 'no reset.yaml');
    check(diskRead(disk, `${WORK}/needs.reset`) === undefined, 'needs.reset is still there');
    const errors = diskRead(disk, `${MARKERS}/journal-errors`) ?? '';
    check(/returned code '500'/.test(errors), `journalctl -p err -u elemental-agent does not show the injected failure:\n${errors}`);
    check(serialHas(vm, /reboot: Power down/), 'the serial console shows no power-off (the kernel\'s "reboot: Power down")');
    return `runcmd and write_files ran once, config.yaml and hostname kept, reset hooks ran, journalctl -p err: "${errors.trim().split('\n')[0]}", powered off`;
  });

  // ---- boot 4: the image registers again as a new host
  await stage(S, '5 after the reset the image registers again: a new host', async () => {
    const oldKey = diskRead(disk, `${WORK}/private.key`);
    const vm = startBoot();
    const fresh = await whileRunning(vm, 'a new host installed', api.waitFor(() => api.hosts(reg).find((h) => h.name !== name && h.labels[`${LABEL}installed`] === 'true'), BOOT_TIMEOUT_MS));
    const bootMs = await vm.waitForExit(BOOT_TIMEOUT_MS);
    timings.push(['image: boot 4: re-registration, install, reboot', secs(bootMs)]);
    check(api.host(reg, name) === undefined, 'the old host is back');
    const key = diskRead(disk, `${WORK}/private.key`);
    check(key !== undefined && key !== oldKey, 'private.key was not replaced');
    check(diskRead(disk, '/etc/hostname') === `${fresh.name}\n`, `/etc/hostname: ${JSON.stringify(diskRead(disk, '/etc/hostname'))}`);
    check(!api.requests.some((r) => r.hostName === name && r.status === 404 && r.time > vm.startedAt), 'the old identity asked for its deleted host');
    return `${fresh.name} (was ${name})`;
  });
}

// ---------------------------------------------------------------------------------------------
// Scenario "initramfs": register from a busybox + node initramfs, then boot the disk

async function initramfsScenario(cached: string, api: ElementalApi, pkiCa: string, tmp: string): Promise<void> {
  const S = 'initramfs';
  const reg = api.addRegistration({
    name: 'boot-initramfs',
    baseUrl: `https://${API_GUEST_NAME}:${api.port}`,
    agent: { ...SERVER_AGENT, hostname: { prefix: SERIAL_PREFIX }, postInstall: {} },
    install: { bootTest: 'initramfs' },
    hostLabels: HOST_LABELS,
    hostAnnotations: HOST_ANNOTATIONS,
  });
  const dir = trackPath(mkdtempSync(join(tmp, 'initramfs-')));
  const prepStart = Date.now();
  const root = prepareRoot(cached, dir, { cloudInit: false });
  const caIndented = pkiCa.trim().split('\n').map((l) => `        ${l}`).join('\n');
  write(root, CONFIG, `registration:\n    uri: ${reg.uri}\n    caCert: |\n${caIndented}\n    token: ${reg.token}\nagent:\n    hostname:\n        prefix: "i-"\n`, 0o640);
  const { kernel, initrd, version } = kernelOf(root);
  const disk = join(dir, 'disk.img');
  makeDisk(root, disk);
  const cpio = join(dir, 'initramfs.cpio');
  buildInitramfs(root, version, dir, cpio);
  timings.push(['initramfs: image copy, install.sh, mkfs.ext4, cpio', secs(Date.now() - prepStart)]);

  const vms: Boot[] = [];
  const start = (opts: Omit<BootOptions, 'kernel' | 'disk' | 'apiPort'>) => {
    const m = INITRAMFS_MACHINE;
    const vm = boot({ kernel, disk, apiPort: api.port, smbios: smbios(m), smp: m.smp, memoryMiB: m.memoryMiB, secondNic: true, ...opts });
    vms.push(vm);
    return vm;
  };
  try {
    await initramfsBoots(S, api, reg, disk, { cpio, initrd, dir }, start);
  } finally {
    await Promise.all(vms.map((vm) => vm.kill()));
  }
}

async function initramfsBoots(
  S: string,
  api: ElementalApi,
  reg: RegistrationHandle,
  disk: string,
  files: { cpio: string; initrd: string; dir: string },
  start: (opts: Omit<BootOptions, 'kernel' | 'disk' | 'apiPort'>) => Boot,
): Promise<void> {
  let name = '';
  await stage(S, '1 the initramfs registers and installs the host onto /sysroot', async () => {
    const vm = start({ initrd: files.cpio, serialLog: join(files.dir, 'serial-initramfs.log'), append: 'console=ttyS0 panic=-1 no_timer_check quiet' });
    const bootMs = await vm.waitForExit(BOOT_TIMEOUT_MS);
    timings.push(['initramfs: boot 1 (initramfs): register --install --root /sysroot, power-off', secs(bootMs)]);
    check(serialHas(vm, /elemental-initramfs: agent exit status 0/), `the agent did not exit 0:\n${vm.serial().split('\n').slice(-40).join('\n')}`);
    const all = api.hosts(reg);
    check(all.length === 1 && all[0]!.labels[`${LABEL}installed`] === 'true', `hosts: ${JSON.stringify(all.map((h) => [h.name, h.labels]))}`);
    name = all[0]!.name;
    check(diskRead(disk, '/etc/hostname') === `${name}\n`, `/sysroot/etc/hostname: ${JSON.stringify(diskRead(disk, '/etc/hostname'))}`);
    const modes: [string, string][] = [
      [WORK, '0700'],
      [`${WORK}/private.key`, '0600'],
      [CONFIG, '0640'],
      ['/etc/hostname', '0644'],
    ];
    for (const [path, want] of modes) check(mode(disk, path) === want, `${path}: mode ${mode(disk, path)}, want ${want}`);
    check(diskRead(disk, `${WORK}/install.yaml`)?.includes('bootTest: initramfs'), 'no install.yaml');
    const registered = checkRegistered(api, name, INITRAMFS_MACHINE);
    check(mode(disk, `${WORK}/host-templates.json`) === '0600', `host-templates.json mode ${mode(disk, `${WORK}/host-templates.json`)}`);
    return `${registered}; ${name}; work dir 0700, private.key 0600, config 0640, hostname 0644, install.yaml ${mode(disk, `${WORK}/install.yaml`)}, cloud-init.yaml ${mode(disk, `${WORK}/cloud-init.yaml`)}`;
  });

  await stage(S, '2 the disk boots under the registered name and run reconciles it (phase Running)', async () => {
    const vm = start({ initrd: files.initrd, serialLog: join(files.dir, 'serial-disk.log') });
    const since = Date.now();
    await whileRunning(vm, 'phase Running', api.waitFor(() => api.host(reg, name)?.phase === 'Running', BOOT_TIMEOUT_MS));
    await whileRunning(vm, `the login prompt of ${name}`, vm.waitForSerial(new RegExp(`${name} login:`), BOOT_TIMEOUT_MS));
    timings.push(['initramfs: boot 2 (the disk): to phase Running', secs(Date.now() - since)]);
    await whileRunning(vm, 'the eth1 label', api.waitFor(() => api.host(reg, name)?.labels['example.com/nic1'] === '10.0.3.15', BOOT_TIMEOUT_MS));
    await vm.kill();
    const answered = api.requests.filter((r) => r.hostName === name && r.op === 'patchHost' && r.time >= since);
    check(answered.length > 0 && answered.every((r) => r.status === 200), `PATCH answers: ${answered.map((r) => r.status).join(', ')}`);
    const install = markerLines(disk, 'install-hook');
    check(install.length === 1 && install[0]!.endsWith('agent=activating'), `install hooks: ${install.join(' | ') || 'none'}`);
    const nic = checkNicLabelPatched(api, reg, name);
    return `${answered.length} PATCH answered 200, install hooks ran before the loop; ${nic}`;
  });
}

// ---------------------------------------------------------------------------------------------

function printSummary(): void {
  const width = Math.max(...results.map((r) => r.scenario.length + r.stage.length + 2), 10);
  console.log('\nstage'.padEnd(width + 1) + '  result');
  const order = (r: StageResult) => ['image', 'initramfs', 'suite'].indexOf(r.scenario);
  const sorted = [...results].sort((a, b) => order(a) - order(b));
  for (const r of sorted) console.log(`${`${r.scenario}: ${r.stage}`.padEnd(width)}  ${r.ok ? 'pass' : `FAIL: ${r.detail}`}`);
  const tw = Math.max(...timings.map(([k]) => k.length), 10);
  console.log(`\n${'timing'.padEnd(tw)}  seconds`);
  // The scenarios ran side by side: their rows are grouped, each in the order it happened.
  const group = (k: string) => (k.startsWith('image build') ? 0 : k.startsWith('image') ? 1 : 2);
  const rows = timings.map((t, i) => ({ t, i })).sort((a, b) => group(a.t[0]) - group(b.t[0]) || a.i - b.i);
  for (const { t: [k, v] } of rows) console.log(`${k.padEnd(tw)}  ${v}`);
  const passed = results.filter((r) => r.ok).length;
  console.log(`\n${passed} passed, ${results.length - passed} failed`);
}

export async function main(args: string[]): Promise<number> {
  const scenarios = args.length > 0 ? args : ['image', 'initramfs'];
  for (const s of scenarios) if (!['image', 'initramfs'].includes(s)) {
    console.error(`test:boot: unknown scenario '${s}' (image, initramfs)`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    console.error('test:boot: must run as root (debootstrap, chroot)');
    return 1;
  }
  const missing = ['qemu-system-x86_64', 'mkfs.ext4', 'debugfs', 'cpio', 'openssl'].filter((c) => !have(c));
  if (missing.length > 0) {
    console.error(`test:boot: missing ${missing.join(', ')} (apt-get install qemu-system-x86 e2fsprogs cpio openssl busybox-static debootstrap)`);
    return 1;
  }
  const onSignal = (sig: NodeJS.Signals) => {
    cleanup();
    process.kill(process.pid, sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let api: ElementalApi | undefined;
  // Tracked: a SIGTERM/SIGINT removes it (its PKI holds a CA key) as it removes the QEMU runs.
  const tmp = trackPath(mkdtempSync(join(tmpdir(), 'elemental-boot-')));
  try {
    if (EXAMPLES !== resolve('examples')) console.log(`examples from ${EXAMPLES} (ELEMENTAL_BOOT_EXAMPLES)`);
    const built = buildRoot();
    timings.push([built.cacheHit ? 'image build: cache hit' : 'image build: debootstrap', secs(built.ms)]);
    const pki = makePki(tmp);
    api = await startElementalApi({ tls: pki });
    // The scenarios are independent (a registration each on the one stand-in): they run side
    // by side, one QEMU each (TCG is single-threaded: two use two cores).
    await Promise.all(
      scenarios.map(async (s) => {
        try {
          if (s === 'image') await imageScenario(built.root, api!, pki.caCertPem, tmp);
          else await initramfsScenario(built.root, api!, pki.caCertPem, tmp);
        } catch (err) {
          if (!(err instanceof StageError)) {
            results.push({ scenario: s, stage: 'setup', ok: false, detail: err instanceof Error ? err.message : String(err) });
            console.log(`  FAIL  ${s}: ${err instanceof Error ? err.stack : err}`);
          }
        }
      }),
    );
  } catch (err) {
    results.push({ scenario: 'suite', stage: 'setup', ok: false, detail: err instanceof Error ? err.message : String(err) });
    console.log(`  FAIL  setup: ${err instanceof Error ? err.message : err}`);
  } finally {
    await api?.close();
    cleanup();
    rmSync(tmp, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  printSummary();
  return results.length > 0 && results.every((r) => r.ok) ? 0 : 1;
}
