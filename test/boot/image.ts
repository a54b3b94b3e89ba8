// Making the images the suite boots: the cached Debian root (build-image.sh), a copy of it with
// the project installed by examples/install.sh, the NoCloud seed from
// examples/cloud-init/user-data.yaml, and the initramfs of the initramfs scenario.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseDocument, isMap, isSeq, type YAMLMap } from 'yaml';
import { API_GUEST_ADDRESS, API_GUEST_NAME, BOOT_DIR, run } from './vm';

export const MARKERS = '/var/lib/boot-test';
/**
 * The examples/ the suite installs and boots: the clone's, or ELEMENTAL_BOOT_EXAMPLES (a copy
 * with a deliberately broken piece, to see which stage catches it). The agent is always dist/'s.
 */
export const EXAMPLES = resolve(process.env.ELEMENTAL_BOOT_EXAMPLES ?? 'examples');

/** The cached root (build-image.sh prints its path) and whether it was a cache hit. */
export function buildRoot(): { root: string; cacheHit: boolean; ms: number } {
  const start = Date.now();
  // Up to 30 min: a debootstrap on a slow mirror; build-image.sh bounds debootstrap itself.
  const r = spawnSync('sh', [join(BOOT_DIR, 'build-image.sh')], { encoding: 'utf8', timeout: 1_800_000, stdio: ['ignore', 'pipe', 'pipe'] });
  process.stderr.write(r.stderr ?? '');
  if (r.error || r.status !== 0) throw new Error(`build-image.sh failed (${r.error?.message ?? `exit ${r.status}`})`);
  const root = r.stdout.trim().split('\n').pop() ?? '';
  if (!existsSync(join(root, 'usr/bin/node'))) throw new Error(`build-image.sh printed '${root}', which has no usr/bin/node`);
  return { root, cacheHit: /cache hit/.test(r.stderr), ms: Date.now() - start };
}

/** Writes a file into an image root (parents created), with its mode. */
export function write(root: string, path: string, content: string, mode = 0o644): void {
  const target = join(root, path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
  chmodSync(target, mode);
}

/**
 * A copy of the cached root with the project installed by examples/install.sh, plus what makes
 * it a test machine: the stand-in's name in /etc/hosts, a static eth0 without a gateway (the only
 * peer is the guestfwd), recording hooks in the operator's hook directories.
 */
export function prepareRoot(cached: string, dir: string, opts: { cloudInit: boolean }): string {
  const root = join(dir, 'root');
  run('cp', ['-a', '--reflink=auto', cached, root], { timeoutMs: 600_000 });
  run('env', [`ELEMENTAL_AGENT_BUNDLE=${resolve('dist/elemental-agent.js')}`, 'sh', join(EXAMPLES, 'install.sh'), root], { timeoutMs: 60_000 });
  const hostsFile = join(root, 'etc/hosts');
  const hosts = existsSync(hostsFile) ? readFileSync(hostsFile, 'utf8').replace(/\n*$/, '\n') : '127.0.0.1 localhost\n';
  write(root, 'etc/hosts', `${hosts}${API_GUEST_ADDRESS} ${API_GUEST_NAME}\n`);
  write(root, 'etc/network/interfaces', 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n    address 10.0.2.15/24\n\nsource /etc/network/interfaces.d/*\n');
  write(root, 'etc/fstab', '/dev/vda / ext4 rw,errors=remount-ro 0 1\n');
  // The journal on the serial console too: the log the suite shows when a stage fails.
  write(root, 'etc/systemd/journald.conf.d/boot-test.conf', '[Journal]\nForwardToConsole=yes\nMaxLevelConsole=info\n');
  if (opts.cloudInit) {
    // NoCloud only (no probing of cloud metadata services), and the network is the static eth0.
    // No locales in a minbase root: cloud-init's locale module would fail.
    write(root, 'etc/cloud/cloud.cfg.d/05-boot-test.cfg', 'datasource_list: [NoCloud, None]\nnetwork:\n  config: disabled\nlocale: false\n');
  } else {
    write(root, 'etc/cloud/cloud-init.disabled', '');
  }
  // Recording hooks: each appends a line (what it got, this boot's id, and for the install hooks
  // the state of the reconcile loop's unit, "activating" while its ExecStartPre= runs).
  const hook = (extra: string) =>
    `#!/bin/sh\nset -eu\nmkdir -p ${MARKERS}\nprintf '%s\\n' "$ELEMENTAL_HOOK_NAME file=$1 sha=$(sha256sum <"$1" | cut -c1-12) boot=$(cat /proc/sys/kernel/random/boot_id)${extra}" >>${MARKERS}/$ELEMENTAL_HOOK_NAME-hook\nsync\n`;
  write(root, 'etc/elemental/hooks/install.d/50-boot-test', hook(' agent=$(systemctl show -P ActiveState elemental-agent.service)'), 0o755);
  // The install configures the second NIC (eth1, when the guest has one): it gets its address
  // after the registration, and `run` must send the label templated on it (host information).
  write(root, 'etc/elemental/hooks/install.d/40-boot-test-nic', [
    '#!/bin/sh',
    'set -eu',
    '[ -e /sys/class/net/eth1 ] || exit 0',
    'printf "auto eth1\\niface eth1 inet static\\n    address 10.0.3.15/24\\n" >/etc/network/interfaces.d/eth1',
    'ifup eth1 || { ip link set eth1 up; ip addr replace 10.0.3.15/24 dev eth1; }',
    '',
  ].join('\n'), 0o755);
  write(root, 'etc/elemental/hooks/os-version.d/50-boot-test', hook(''), 0o755);
  write(root, 'etc/elemental/hooks/reset.d/50-boot-test', hook(''), 0o755);
  // What an operator at the console would ask the journal before the host goes away.
  write(root, 'etc/elemental/hooks/reset.d/60-journal-errors', `#!/bin/sh\nset -eu\njournalctl -p err -u elemental-agent -o cat --no-pager >${MARKERS}/journal-errors 2>&1 || true\nsync\n`, 0o755);
  return root;
}

/**
 * examples/cloud-init/user-data.yaml with its placeholders filled in: the config entry gets the
 * stand-in's registration (URI, CA, token); the entry that ships the agent is dropped (the agent
 * is in the image). Throws when a placeholder is left.
 */
export function fillUserData(template: string, reg: { uri: string; caCertPem: string; token: string }): string {
  const doc = parseDocument(template);
  const files = doc.get('write_files');
  if (!isSeq(files)) throw new Error('user-data: no write_files');
  const entries = files.items as YAMLMap[];
  const agentIndex = entries.findIndex((f) => isMap(f) && f.get('path') === '/usr/local/bin/elemental-agent');
  if (agentIndex < 0) throw new Error('user-data: no write_files entry for /usr/local/bin/elemental-agent');
  files.items.splice(agentIndex, 1);
  const config = entries.find((f) => isMap(f) && f.get('path') === '/etc/elemental/agent/config.yaml');
  if (!config) throw new Error('user-data: no write_files entry for /etc/elemental/agent/config.yaml');
  let content = String(config.get('content'));
  const replace = (re: RegExp, by: string, what: string) => {
    if (!re.test(content)) throw new Error(`user-data: the config has no ${what} placeholder (${re})`);
    content = content.replace(re, by);
  };
  replace(/^(\s*uri:) .*$/m, `$1 ${reg.uri}`, 'uri');
  replace(/^(\s*)caCert: \|\n(?:\1  .*\n)+/m, `$1caCert: |\n${reg.caCertPem.trim().split('\n').map((l) => `$1  ${l}`).join('\n')}\n`, 'caCert');
  replace(/^(\s*token:) <[^>]*>$/m, `$1 ${reg.token}`, 'token');
  config.set('content', content);
  const out = doc.toString({ lineWidth: 0 });
  const left = /<[A-Za-z][^>\n]*>/.exec(out.replace(/^\s*#.*$/gm, ''));
  if (left) throw new Error(`user-data: placeholder left: ${left[0]}`);
  if (!out.startsWith('#cloud-config\n')) throw new Error('user-data: lost its #cloud-config line');
  return out;
}

export function writeSeed(root: string, instanceId: string, userData: string): void {
  write(root, 'var/lib/cloud/seed/nocloud/meta-data', `instance-id: ${instanceId}\nlocal-hostname: boot-test-image\n`, 0o600);
  write(root, 'var/lib/cloud/seed/nocloud/user-data', userData, 0o600);
}

// ---------------------------------------------------------------------------------------------
// The initramfs: busybox (static), the image's node with its libraries and /usr/share/nodejs,
// the virtio/net/ext4 modules, and the bundle.

const MODULES = [
  'drivers/virtio/virtio.ko',
  'drivers/virtio/virtio_ring.ko',
  'drivers/virtio/virtio_pci_legacy_dev.ko',
  'drivers/virtio/virtio_pci_modern_dev.ko',
  'drivers/virtio/virtio_pci.ko',
  'net/core/failover.ko',
  'drivers/net/net_failover.ko',
  'drivers/net/virtio_net.ko',
  'drivers/block/virtio_blk.ko',
  'lib/crc16.ko',
  'crypto/crc32c_generic.ko',
  'fs/mbcache.ko',
  'fs/jbd2/jbd2.ko',
  'fs/ext4/ext4.ko',
];

export const INIT_SCRIPT = `#!/bin/busybox sh
# The initramfs of the real-boot suite: network up (static, no gateway), the disk at /sysroot,
# then the agent registers and installs the host on it.
/bin/busybox --install -s /bin
export PATH=/bin HOME=/
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp /run /sysroot
say() { echo "elemental-initramfs: $*"; }
for m in $(cat /modules.list); do insmod "/modules/$m" || say "insmod $m failed"; done
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0
ip link set eth0 up
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 /dev/vda /sysroot || say "cannot mount /dev/vda"
say "starting the agent"
node /elemental-agent.js --root /sysroot register --install
say "agent exit status $?"
umount /sysroot
sync
poweroff -f
`;

/** The initramfs as an uncompressed newc cpio archive at `out`. */
export function buildInitramfs(root: string, kernelVersion: string, dir: string, out: string): void {
  const tree = join(dir, 'initramfs');
  mkdirSync(join(tree, 'bin'), { recursive: true });
  mkdirSync(join(tree, 'modules'), { recursive: true });
  for (const d of ['proc', 'sys', 'dev', 'etc', 'tmp', 'sysroot', 'usr/bin', 'usr/share']) mkdirSync(join(tree, d), { recursive: true });
  const busybox = ['/usr/bin/busybox', '/bin/busybox'].find((p) => existsSync(p));
  if (!busybox) throw new Error('no busybox (apt-get install busybox-static)');
  const ldd0 = run('sh', ['-c', 'ldd "$1" 2>&1 || true', 'sh', busybox]).stdout;
  if (!/not a dynamic executable|statically linked/.test(ldd0)) throw new Error(`${busybox} is not static (apt-get install busybox-static)`);
  copyFileSync(busybox, join(tree, 'bin/busybox'));
  chmodSync(join(tree, 'bin/busybox'), 0o755);
  // node and what `ldd` lists (resolved inside the image's root).
  copyFileSync(join(root, 'usr/bin/node'), join(tree, 'usr/bin/node'));
  chmodSync(join(tree, 'usr/bin/node'), 0o755);
  const ldd = run('chroot', [root, 'ldd', '/usr/bin/node']).stdout;
  for (const m of ldd.matchAll(/(\/\S+) \(0x/g)) {
    const lib = m[1]!;
    const target = join(tree, lib);
    mkdirSync(dirname(target), { recursive: true });
    run('cp', ['-L', join(root, lib), target]);
  }
  run('cp', ['-a', join(root, 'usr/share/nodejs'), join(tree, 'usr/share/nodejs')]);
  run('ln', ['-s', '/usr/bin/node', join(tree, 'bin/node')]);
  const modules = join(root, 'lib/modules', kernelVersion, 'kernel');
  for (const m of MODULES) copyFileSync(join(modules, m), join(tree, 'modules', m.split('/').pop()!));
  writeFileSync(join(tree, 'modules.list'), MODULES.map((m) => m.split('/').pop()).join('\n') + '\n');
  copyFileSync(resolve('dist/elemental-agent.js'), join(tree, 'elemental-agent.js'));
  writeFileSync(join(tree, 'etc/hosts'), `127.0.0.1 localhost\n${API_GUEST_ADDRESS} ${API_GUEST_NAME}\n`);
  writeFileSync(join(tree, 'init'), INIT_SCRIPT);
  chmodSync(join(tree, 'init'), 0o755);
  run('sh', ['-c', 'cd "$1" && find . | cpio -o -H newc --quiet >"$2"', 'sh', tree, out], { timeoutMs: 120_000 });
  if (readdirSync(tree).length === 0) throw new Error('empty initramfs');
}
