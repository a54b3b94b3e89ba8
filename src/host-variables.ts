// The variables host labels, annotations and the host name prefix can use (SPEC §17), named as
// the older Elemental stack names them so that its registrations carry over: its SMBIOS names
// (`System Information/Serial Number`, the sections of dmidecode) and its hardware-label names
// (`System Data/CPU/Total Cores`), and the newer families it renamed them to in 1.7
// (`Product/SerialNumber`, `CPU/TotalCores`). Values are strings in its formats: integers in
// decimal, booleans `true`/`false`, sizes in bytes.
import { type DmiFile, type HostFacts, type Nic, type Disk } from './facts';
import { writeStdout } from './output';

export interface Variable {
  /** Its names: the older stack's first, then the newer family's and other aliases. */
  names: string[];
  /** Absent: this machine has no value for it (expands to "" with a warning). */
  value?: string;
  /** From the SMBIOS tables (turned off by agent.noSmbios). */
  smbios: boolean;
  /** Names one machine (serials, UUIDs): logged only with --debug. */
  identifying: boolean;
  /** Where the value is read, for the warning when it is missing. */
  source: string;
}

/** [dmi file, older name, newer name]; identifying ones are marked. */
const SMBIOS: [DmiFile, string, string | undefined, boolean?][] = [
  ['sys_vendor', 'System Information/Manufacturer', 'Product/Vendor'],
  ['product_name', 'System Information/Product Name', 'Product/Name'],
  ['product_serial', 'System Information/Serial Number', 'Product/SerialNumber', true],
  ['product_uuid', 'System Information/UUID', 'Product/UUID', true],
  ['product_version', 'System Information/Version', 'Product/Version'],
  ['product_sku', 'System Information/SKU Number', 'Product/SKU'],
  ['product_family', 'System Information/Family', 'Product/Family'],
  ['board_vendor', 'Base Board Information/Manufacturer', 'BaseBoard/Vendor'],
  ['board_name', 'Base Board Information/Product Name', 'BaseBoard/Product'],
  ['board_serial', 'Base Board Information/Serial Number', 'BaseBoard/SerialNumber', true],
  ['board_version', 'Base Board Information/Version', 'BaseBoard/Version'],
  ['board_asset_tag', 'Base Board Information/Asset Tag', 'BaseBoard/AssetTag', true],
  ['chassis_vendor', 'Chassis Information/Manufacturer', 'Chassis/Vendor'],
  ['chassis_serial', 'Chassis Information/Serial Number', 'Chassis/SerialNumber', true],
  ['chassis_version', 'Chassis Information/Version', 'Chassis/Version'],
  ['chassis_asset_tag', 'Chassis Information/Asset Tag', 'Chassis/AssetTag', true],
  ['bios_vendor', 'BIOS Information/Vendor', 'BIOS/Vendor'],
  ['bios_version', 'BIOS Information/Version', 'BIOS/Version'],
  ['bios_date', 'BIOS Information/Release Date', 'BIOS/Date'],
  ['bios_release', 'BIOS Information/BIOS Revision', undefined],
];

/** SMBIOS 3.x chassis types (DSP0134 7.4.1), as dmidecode prints them. */
const CHASSIS_TYPES = [
  'Other', 'Unknown', 'Desktop', 'Low Profile Desktop', 'Pizza Box', 'Mini Tower', 'Tower', 'Portable', 'Laptop',
  'Notebook', 'Hand Held', 'Docking Station', 'All In One', 'Sub Notebook', 'Space-saving', 'Lunch Box',
  'Main Server Chassis', 'Expansion Chassis', 'Sub Chassis', 'Bus Expansion Chassis', 'Peripheral Chassis',
  'RAID Chassis', 'Rack Mount Chassis', 'Sealed-case PC', 'Multi-system', 'CompactPCI', 'AdvancedTCA', 'Blade',
  'Blade Enclosure', 'Tablet', 'Convertible', 'Detachable', 'IoT Gateway', 'Embedded PC', 'Mini PC', 'Stick PC',
];

// Per-device fields: [older name, newer name, value].
const NIC_FIELDS: [string, string, (nic: Nic) => string | undefined][] = [
  ['Name', 'Name', (n) => n.name],
  ['MacAddress', 'MacAddress', (n) => n.macAddress],
  ['IsVirtual', 'IsVirtual', (n) => String(n.isVirtual)],
  // Not in the older stack: our names, in its style for NIC fields.
  ['IPv4Address', 'IPv4Address', (n) => n.ipv4],
  ['IPv6Address', 'IPv6Address', (n) => n.ipv6],
];
const DISK_FIELDS: [string, string, (disk: Disk) => string | undefined][] = [
  ['Name', 'Name', (d) => d.name],
  ['Size', 'Size', (d) => d.sizeBytes?.toString()],
  ['Drive Type', 'DriveType', (d) => d.driveType],
  ['Storage Controller', 'StorageController', (d) => d.storageController],
  ['Removable', 'Removable', (d) => d.removable?.toString()],
  ['Model', 'Model', (d) => d.model],
];

const fieldNames = (fields: [string, string, unknown][], pick: 0 | 1) => fields.map((f) => f[pick].replace(/ /g, '\\ ')).join('|');
/** Per-device variables are known whatever the device: a NIC that is not there has no value. */
const DEVICE_PATTERNS = [
  new RegExp(`^System Data/Network/[^/]+/(?:${fieldNames(NIC_FIELDS, 0)})$`),
  new RegExp(`^Network/NICs/[^/]+/(?:${fieldNames(NIC_FIELDS, 1)})$`),
  new RegExp(`^System Data/Block Devices/[^/]+/(?:${fieldNames(DISK_FIELDS, 0)})$`),
  new RegExp(`^Storage/Disks/[^/]+/(?:${fieldNames(DISK_FIELDS, 1)})$`),
];
export const RANDOM_PATTERN = /^Random\/(?:UUID|Hex\/(\d+)|Int\/(\d+))$/;

export function isDeviceVariable(name: string): boolean {
  return DEVICE_PATTERNS.some((pattern) => pattern.test(name));
}

/** Every variable this machine has, in a stable order (SMBIOS, CPU, memory, network, storage). */
export function hostVariables(facts: HostFacts): Map<string, Variable> {
  const variables = new Map<string, Variable>();
  const add = (aliases: (string | undefined)[], value: string | undefined, source: string, flags: Partial<Variable> = {}) => {
    const names = aliases.filter((name): name is string => name !== undefined);
    const variable: Variable = { names, smbios: false, identifying: false, source, ...flags, ...(value === undefined ? {} : { value }) };
    for (const name of names) variables.set(name, variable);
  };
  const dmiSource = (file: string) => `/sys/class/dmi/id/${file}`;
  for (const [file, older, newer, identifying] of SMBIOS) {
    add([older, newer], facts.dmi[file], dmiSource(file), { smbios: true, identifying: identifying === true });
  }
  const type = facts.dmi.chassis_type;
  const typeName = type === undefined ? undefined : (CHASSIS_TYPES[Number(type) - 1] ?? type);
  add(['Chassis Information/Type', 'Chassis/TypeDescription'], typeName, dmiSource('chassis_type'), { smbios: true });
  add(['Chassis/Type'], type, dmiSource('chassis_type'), { smbios: true });

  const { cpu, memory } = facts;
  add(['System Data/CPU/Total Cores', 'CPU/TotalCores'], cpu.totalCores?.toString(), '/proc/cpuinfo');
  add(['System Data/CPU/Total Threads', 'CPU/TotalThreads'], cpu.totalThreads?.toString(), '/proc/cpuinfo');
  add(['System Data/CPU/Number Processors', 'CPU/TotalProcessors'], cpu.processors?.toString(), '/proc/cpuinfo');
  add(['System Data/CPU/Model', 'CPU/Model'], cpu.model, '/proc/cpuinfo (model name)');
  add(['System Data/CPU/Vendor', 'CPU/Processor/Vendor'], cpu.vendor, '/proc/cpuinfo (vendor_id)');
  add(['System Data/Memory/Total Physical Bytes', 'Memory/TotalPhysicalBytes'], memory.totalPhysicalBytes?.toString(), '/sys/devices/system/memory');
  add(['System Data/Memory/Total Usable Bytes', 'Memory/TotalUsableBytes'], memory.totalUsableBytes?.toString(), '/proc/meminfo (MemTotal)');
  // The older stack reads GPUs from the PCI database, which minimal images do not have.
  add(['System Data/GPU/Model', 'GPU/GraphicsCard/ProductName'], undefined, 'the PCI database (not read by this agent)');
  add(['System Data/GPU/Vendor', 'GPU/GraphicsCard/VendorName'], undefined, 'the PCI database (not read by this agent)');

  add(['System Data/Network/Number Interfaces', 'Network/TotalNICs'], String(facts.nics.length), '/sys/class/net');
  let physical = 0;
  facts.nics.forEach((nic, index) => {
    // By name, by position, and NIC<n> for the n-th interface backed by hardware.
    const older = [nic.name, String(index), ...(nic.isVirtual ? [] : [`NIC${physical++}`])].map((key) => `System Data/Network/${key}`);
    for (const [olderField, newerField, get] of NIC_FIELDS) {
      add([...older.map((prefix) => `${prefix}/${olderField}`), `Network/NICs/${nic.name}/${newerField}`], get(nic), `/sys/class/net/${nic.name}`);
    }
  });
  add(['System Data/Block Devices/Number Devices', 'Storage/TotalDisks'], String(facts.disks.length), '/sys/block');
  facts.disks.forEach((disk, index) => {
    const older = [disk.name, String(index)].map((key) => `System Data/Block Devices/${key}`);
    for (const [olderField, newerField, get] of DISK_FIELDS) {
      add([...older.map((prefix) => `${prefix}/${olderField}`), `Storage/Disks/${disk.name}/${newerField}`], get(disk), `/sys/block/${disk.name}`);
    }
  });
  add(['System Data/Runtime/Hostname', 'Runtime/Hostname'], facts.hostname, 'the kernel host name');
  return variables;
}

/** `elemental-agent facts`: every variable of this machine and its value, to write templates against. */
export async function factsCommand(options: { json: boolean }): Promise<number> {
  const { readFacts } = await import('./facts');
  const variables = [...new Set(hostVariables(readFacts()).values())];
  if (options.json) {
    const all = Object.fromEntries(variables.flatMap((v) => v.names.map((name) => [name, v.value ?? null])));
    writeStdout(`${JSON.stringify(all, null, 2)}\n`);
    return 0;
  }
  const lines = [
    "# This machine's variables for an ElementalRegistration's hostLabels and hostAnnotations values and",
    '# agent.hostname.prefix, e.g. "${System Information/Serial Number}". Aliases in parentheses.',
  ];
  for (const v of variables) {
    const [first, ...aliases] = v.names.map((name) => `\${${name}}`);
    const value = v.value === undefined ? `(no value: ${v.source})` : JSON.stringify(v.value);
    lines.push(`${first}${aliases.length ? ` (${aliases.join(', ')})` : ''}: ${value}`);
  }
  lines.push('# Also: ${Random/UUID}, ${Random/Hex/<1-32>}, ${Random/Int/<max>} (drawn once, at registration).');
  writeStdout(`${lines.join('\n')}\n`);
  return 0;
}
