// Host facts (SPEC §17): what this machine is, read from sysfs and procfs without any tool
// (minimal images have no dmidecode). Always the running machine's: --root does not move them
// (in an initramfs the hardware is the initramfs's). A fact that is missing or unreadable is
// absent, never an error: a Raspberry Pi has no DMI at all, a container no /sys/block.
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, realpathSync } from 'node:fs';
import { type NetworkInterfaceInfo, hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';

/** Where the facts come from: the machine's own /sys and /proc, or a recorded tree in tests. */
export interface FactSources {
  sys: string;
  proc: string;
  interfaces(): NodeJS.Dict<NetworkInterfaceInfo[]>;
  hostname(): string;
}

export const MACHINE: FactSources = { sys: '/sys', proc: '/proc', interfaces: networkInterfaces, hostname };

/** The /sys/class/dmi/id files the variables use. */
export const DMI_FILES = [
  'sys_vendor', 'product_name', 'product_serial', 'product_uuid', 'product_version', 'product_sku', 'product_family',
  'board_vendor', 'board_name', 'board_serial', 'board_version', 'board_asset_tag',
  'chassis_vendor', 'chassis_type', 'chassis_serial', 'chassis_version', 'chassis_asset_tag',
  'bios_vendor', 'bios_version', 'bios_date', 'bios_release',
] as const;
export type DmiFile = (typeof DMI_FILES)[number];

export interface Nic {
  name: string;
  macAddress?: string;
  /** Not backed by a device (bridge, veth, bond, tun): its sysfs node is under devices/virtual. */
  isVirtual: boolean;
  ipv4?: string;
  ipv6?: string;
}

export interface Disk {
  name: string;
  sizeBytes?: number;
  /** HDD, SSD, ODD, FDD or Unknown (the older stack's words, from ghw). */
  driveType: string;
  /** IDE, SCSI, NVMe, virtio, MMC or Unknown. */
  storageController: string;
  removable?: boolean;
  model?: string;
}

export interface HostFacts {
  /** /sys/class/dmi/id, as read (trimmed); a file that is missing or unreadable is absent. */
  dmi: Partial<Record<DmiFile, string>>;
  cpu: { totalCores?: number; totalThreads?: number; processors?: number; model?: string; vendor?: string };
  memory: { totalPhysicalBytes?: number; totalUsableBytes?: number };
  /** Every interface but lo, by name (the order ghw and `ls` give). */
  nics: Nic[];
  /** Every block device backed by hardware (no loop, ram, zram, dm-, md: those are virtual). */
  disks: Disk[];
  hostname?: string;
}

// sysfs and procfs files are small, and a server has hundreds of them (a memory block each):
// one open, reads into one buffer, one close (readFileSync adds an fstat and allocations).
const BUFFER = Buffer.alloc(64 * 1024);

function read(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    let length = 0;
    for (let n; length < BUFFER.length && (n = readSync(fd, BUFFER, length, BUFFER.length - length, null)) > 0; ) length += n;
    // A bigger file (the cpuinfo of a many-core server): read it whole.
    return length < BUFFER.length ? BUFFER.toString('utf8', 0, length) : readFileSync(path, 'utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function isVirtualDevice(path: string): boolean {
  try {
    return realpathSync(path).includes('/devices/virtual/');
  } catch {
    return false;
  }
}

function integer(text: string | undefined, radix = 10): number | undefined {
  const n = text === undefined ? NaN : parseInt(text.trim(), radix);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function readDmi(sys: string): HostFacts['dmi'] {
  const dmi: HostFacts['dmi'] = {};
  const dir = join(sys, 'class/dmi/id');
  if (!existsSync(dir)) return dmi; // no DMI (arm boards): not 21 failed opens
  for (const file of DMI_FILES) {
    const value = read(join(dir, file));
    if (value !== undefined) dmi[file] = value.trim();
  }
  return dmi;
}

/** /proc/cpuinfo: threads are its processors; cores the distinct (physical id, core id). */
function readCpu(proc: string): HostFacts['cpu'] {
  const text = read(join(proc, 'cpuinfo'));
  if (text === undefined) return {};
  const blocks = text.split(/\n\s*\n/).map((block) => {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) fields.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    return fields;
  });
  const processors = blocks.filter((b) => b.has('processor'));
  if (processors.length === 0) return {};
  const first = processors[0]!;
  const cores = new Set(processors.map((b) => `${b.get('physical id') ?? '0'}/${b.get('core id') ?? b.get('processor')}`));
  const packages = new Set(processors.map((b) => b.get('physical id') ?? '0'));
  const cpu: HostFacts['cpu'] = { totalThreads: processors.length, totalCores: cores.size, processors: packages.size };
  const model = first.get('model name');
  const vendor = first.get('vendor_id');
  if (model) cpu.model = model;
  if (vendor) cpu.vendor = vendor;
  return cpu;
}

/**
 * Usable: /proc/meminfo's MemTotal. Physical: the online memory blocks of
 * /sys/devices/system/memory (what a hot-add grows), as ghw counts them.
 */
function readMemory(sys: string, proc: string): HostFacts['memory'] {
  const memory: HostFacts['memory'] = {};
  const kib = integer(/^MemTotal:\s*(\d+)\s*kB/m.exec(read(join(proc, 'meminfo')) ?? '')?.[1]);
  if (kib !== undefined) memory.totalUsableBytes = kib * 1024;
  const dir = join(sys, 'devices/system/memory');
  const blockSize = integer(read(join(dir, 'block_size_bytes')), 16);
  const online = list(dir).filter((name) => /^memory\d+$/.test(name) && (read(join(dir, name, 'online')) ?? '1').trim() === '1');
  if (blockSize && online.length > 0) memory.totalPhysicalBytes = blockSize * online.length;
  return memory;
}

/** The address a label should carry: a global one before a link-local one. */
function address(infos: NetworkInterfaceInfo[], family: 'IPv4' | 'IPv6'): string | undefined {
  const candidates = infos.filter((i) => i.family === family && !i.internal);
  const global = candidates.find((i) => !i.address.toLowerCase().startsWith('fe80:'));
  return (global ?? candidates[0])?.address;
}

function readNics(sources: FactSources): Nic[] {
  const dir = join(sources.sys, 'class/net');
  let interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = {};
  try {
    interfaces = sources.interfaces();
  } catch {
    // no addresses (a sandbox without netlink): names and MACs still count
  }
  return list(dir)
    .filter((name) => name !== 'lo')
    .map((name) => {
      const nic: Nic = { name, isVirtual: isVirtualDevice(join(dir, name)) };
      const mac = read(join(dir, name, 'address'))?.trim();
      if (mac) nic.macAddress = mac;
      const ipv4 = address(interfaces[name] ?? [], 'IPv4');
      const ipv6 = address(interfaces[name] ?? [], 'IPv6');
      if (ipv4) nic.ipv4 = ipv4;
      if (ipv6) nic.ipv6 = ipv6;
      return nic;
    });
}

const CONTROLLERS: [RegExp, string][] = [
  [/^nvme/, 'NVMe'],
  [/^vd/, 'virtio'],
  [/^(sd|sr)/, 'SCSI'],
  [/^hd/, 'IDE'],
  [/^mmcblk/, 'MMC'],
];

function driveType(name: string, rotational: string | undefined): string {
  if (name.startsWith('sr')) return 'ODD';
  if (name.startsWith('fd')) return 'FDD';
  if (rotational === '1') return 'HDD';
  if (rotational === '0') return 'SSD';
  return 'Unknown';
}

function readDisks(sys: string): Disk[] {
  const dir = join(sys, 'block');
  return list(dir)
    .filter((name) => !isVirtualDevice(join(dir, name)))
    .map((name) => {
      const base = join(dir, name);
      const disk: Disk = {
        name,
        driveType: driveType(name, read(join(base, 'queue/rotational'))?.trim()),
        storageController: CONTROLLERS.find(([prefix]) => prefix.test(name))?.[1] ?? 'Unknown',
      };
      const sectors = integer(read(join(base, 'size')));
      if (sectors !== undefined) disk.sizeBytes = sectors * 512; // sysfs counts 512-byte sectors, whatever the disk's
      const removable = read(join(base, 'removable'))?.trim();
      if (removable === '0' || removable === '1') disk.removable = removable === '1';
      const model = read(join(base, 'device/model'))?.trim();
      if (model) disk.model = model;
      return disk;
    });
}

export function readFacts(sources: FactSources = MACHINE): HostFacts {
  const facts: HostFacts = {
    dmi: readDmi(sources.sys),
    cpu: readCpu(sources.proc),
    memory: readMemory(sources.sys, sources.proc),
    nics: readNics(sources),
    disks: readDisks(sources.sys),
  };
  try {
    facts.hostname = sources.hostname();
  } catch {
    // absent
  }
  return facts;
}
