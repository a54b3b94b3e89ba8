// Recorded machines for the host-information tests (SPEC §17): the /sys and /proc files the agent
// reads, as three kinds of machine have them — a rack server (Dell PowerEdge, two sockets,
// NVMe + SATA, a bond), a QEMU VM (what `-smbios type=1,…` and virtio give) and a
// Raspberry-Pi-like arm64 board with no DMI at all. Written as trees of real files and symlinks
// (sysfs's net and block entries are symlinks into /sys/devices, which tells virtual ones apart).
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import type { NetworkInterfaceInfo } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { FactSources } from '../../src/facts';

export interface Machine {
  /** Path under the tree (sys/…, proc/…) → content; a value starting with '->' is a symlink to that tree path. */
  files: Record<string, string>;
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
  hostname: string;
}

function cpuinfo(packages: number, cores: number, threads: number, model: string, vendor: string): string {
  const blocks: string[] = [];
  let n = 0;
  for (let t = 0; t < threads; t++) {
    for (let p = 0; p < packages; p++) {
      for (let c = 0; c < cores; c++) {
        blocks.push(
          [
            `processor\t: ${n++}`,
            `vendor_id\t: ${vendor}`,
            'cpu family\t: 6',
            `model name\t: ${model}`,
            `physical id\t: ${p}`,
            `siblings\t: ${cores * threads}`,
            `core id\t\t: ${c}`,
            `cpu cores\t: ${cores}`,
            'flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep',
          ].join('\n'),
        );
      }
    }
  }
  return `${blocks.join('\n\n')}\n\n`;
}

const meminfo = (kib: number) => `MemTotal:       ${kib} kB\nMemFree:        ${Math.floor(kib / 2)} kB\nMemAvailable:   ${Math.floor(kib / 2)} kB\n`;

function memoryBlocks(blockSize: number, online: number, offline = 0): Record<string, string> {
  const files: Record<string, string> = { 'sys/devices/system/memory/block_size_bytes': `${blockSize.toString(16)}\n` };
  for (let i = 0; i < online + offline; i++) files[`sys/devices/system/memory/memory${i}/online`] = i < online ? '1\n' : '0\n';
  return files;
}

function dmi(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([file, value]) => [`sys/class/dmi/id/${file}`, `${value}\n`]));
}

function nic(name: string, device: string | 'virtual', mac: string): Record<string, string> {
  const target = device === 'virtual' ? `sys/devices/virtual/net/${name}` : `sys/devices/${device}/net/${name}`;
  return { [`sys/class/net/${name}`]: `->${target}`, [`${target}/address`]: `${mac}\n` };
}

function disk(name: string, device: string | 'virtual', o: { sectors: number; rotational?: 0 | 1; removable?: 0 | 1; model?: string }): Record<string, string> {
  const target = device === 'virtual' ? `sys/devices/virtual/block/${name}` : `sys/devices/${device}/block/${name}`;
  const files: Record<string, string> = { [`sys/block/${name}`]: `->${target}`, [`${target}/size`]: `${o.sectors}\n`, [`${target}/removable`]: `${o.removable ?? 0}\n` };
  if (o.rotational !== undefined) files[`${target}/queue/rotational`] = `${o.rotational}\n`;
  if (o.model) files[`${target}/device/model`] = `${o.model.padEnd(16)}\n`;
  return files;
}

const v4 = (address: string): NetworkInterfaceInfo => ({ address, netmask: '255.255.255.0', family: 'IPv4', mac: '', internal: false, cidr: `${address}/24` });
const v6 = (address: string): NetworkInterfaceInfo => ({ address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '', internal: false, cidr: `${address}/64`, scopeid: address.startsWith('fe80') ? 2 : 0 });
const lo: NetworkInterfaceInfo[] = [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }];

export const SERVER: Machine = {
  hostname: 'localhost',
  files: {
    ...dmi({
      sys_vendor: 'Dell Inc.',
      product_name: 'PowerEdge R740xd',
      product_serial: 'J8XK2Q2',
      product_uuid: '4c4c4544-0038-5810-804b-cac04f4b3232',
      product_version: '',
      product_sku: 'SKU=NotProvided;ModelName=PowerEdge R740xd',
      product_family: '',
      board_vendor: 'Dell Inc.',
      board_name: '0WGD1',
      board_serial: '.J8XK2Q2.CNFCP0097J00SA.',
      board_version: 'A03',
      board_asset_tag: '',
      chassis_vendor: 'Dell Inc.',
      chassis_type: '23',
      chassis_serial: 'J8XK2Q2',
      chassis_version: '',
      chassis_asset_tag: 'RACK-B07-U12',
      bios_vendor: 'Dell Inc.',
      bios_version: '2.19.1',
      bios_date: '06/12/2023',
      bios_release: '2.19',
    }),
    'proc/cpuinfo': cpuinfo(2, 4, 2, 'Intel(R) Xeon(R) Silver 4110 CPU @ 2.10GHz', 'GenuineIntel'),
    'proc/meminfo': meminfo(65_589_892),
    // x86 uses 2 GiB memory blocks from 64 GiB of RAM on (probe_memory_block_size): 64 GiB online, 2 GiB offline.
    ...memoryBlocks(0x80000000, 32, 1),
    ...nic('eno1', 'pci0000:00/0000:00:1c.0/0000:01:00.0', 'e4:43:4b:a0:11:20'),
    ...nic('eno2', 'pci0000:00/0000:00:1c.0/0000:01:00.1', 'e4:43:4b:a0:11:21'),
    ...nic('bond0', 'virtual', 'e4:43:4b:a0:11:20'),
    ...nic('lo', 'virtual', '00:00:00:00:00:00'),
    ...disk('nvme0n1', 'pci0000:00/0000:00:03.0/0000:3b:00.0/nvme/nvme0', { sectors: 3_750_748_848, rotational: 0, model: 'Dell Ent NVMe AGN MU U.2 1.6TB' }),
    ...disk('sda', 'pci0000:00/0000:00:11.5/ata1/host0/target0:0:0/0:0:0:0', { sectors: 7_814_037_168, rotational: 1, model: 'ST4000NM0035-1V4' }),
    ...disk('sr0', 'pci0000:00/0000:00:11.5/ata5/host4/target4:0:0/4:0:0:0', { sectors: 2_097_151, rotational: 1, removable: 1, model: 'DVD+-RW DU-8A5LH' }),
    ...disk('loop0', 'virtual', { sectors: 0 }),
    ...disk('dm-0', 'virtual', { sectors: 1_000_000 }),
  },
  interfaces: { lo, eno1: [v4('10.20.7.41'), v6('fe80::e643:4bff:fea0:1120'), v6('2001:db8:7::41')], bond0: [v4('10.20.8.41')] },
};

export const VM: Machine = {
  hostname: 'debian',
  files: {
    ...dmi({
      sys_vendor: 'QEMU',
      product_name: 'Standard PC (i440FX + PIIX, 1996)',
      product_serial: 'VM-0001',
      product_uuid: '5a1f3c2e-6d7b-4e8f-9a0b-1c2d3e4f5a6b',
      product_version: 'pc-i440fx-7.2',
      product_family: '',
      chassis_vendor: 'QEMU',
      chassis_type: '1',
      chassis_serial: '',
      chassis_version: 'pc-i440fx-7.2',
      chassis_asset_tag: '',
      bios_vendor: 'SeaBIOS',
      bios_version: '1.16.2-debian-1.16.2-1',
      bios_date: '04/01/2014',
      bios_release: '0.0',
    }),
    'proc/cpuinfo': cpuinfo(1, 2, 1, 'QEMU Virtual CPU version 2.5+', 'AuthenticAMD'),
    'proc/meminfo': meminfo(2_021_144),
    ...memoryBlocks(0x8000000, 16),
    ...nic('ens3', 'pci0000:00/0000:00:03.0/virtio0', '52:54:00:12:34:56'),
    ...nic('lo', 'virtual', '00:00:00:00:00:00'),
    ...disk('vda', 'pci0000:00/0000:00:04.0/virtio1', { sectors: 4_194_304, rotational: 1 }),
  },
  interfaces: { lo, ens3: [v4('10.0.2.15'), v6('fec0::5054:ff:fe12:3456')] },
};

/** arm64 board: no /sys/class/dmi, a cpuinfo without model name or core ids, eMMC, Wi-Fi. */
export const BOARD: Machine = {
  hostname: 'edge-7',
  files: {
    'proc/cpuinfo': `${[0, 1, 2, 3].map((n) => `processor\t: ${n}\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd08`).join('\n\n')}\n\nHardware\t: BCM2835\nRevision\t: c03114\nSerial\t\t: 100000003c5d6e7f\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n`,
    'proc/meminfo': meminfo(3_885_396),
    ...nic('eth0', 'platform/scb/fd580000.ethernet', 'dc:a6:32:01:02:03'),
    ...nic('wlan0', 'platform/soc/fe300000.mmcnr/mmc_host/mmc1/mmc1:0001/mmc1:0001:1', 'dc:a6:32:01:02:04'),
    ...disk('mmcblk0', 'platform/emmc2bus/fe340000.mmc/mmc_host/mmc0/mmc0:aaaa', { sectors: 62_333_952, rotational: 0 }),
  },
  interfaces: { eth0: [v6('fe80::dea6:32ff:fe01:203')] },
};

/** Writes `machine`'s tree under `dir` (sys/ and proc/) and returns the sources reading it. */
export function writeMachine(dir: string, machine: Machine): FactSources {
  for (const [path, content] of Object.entries(machine.files)) {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    if (content.startsWith('->')) symlinkSync(relative(dirname(full), join(dir, content.slice(2))), full);
    else writeFileSync(full, content);
  }
  return { sys: join(dir, 'sys'), proc: join(dir, 'proc'), interfaces: () => machine.interfaces, hostname: () => machine.hostname };
}
