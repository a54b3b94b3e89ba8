// Host information (SPEC §17): facts read from recorded /sys and /proc trees of a rack server, a
// QEMU VM and an arm64 board without DMI; the variables in the older Elemental stack's names and
// formats; templates expanded into labels, annotations and host names.
import { rmSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type HostFacts, readFacts } from '../../src/facts';
import { hostVariables } from '../../src/host-variables';
import { type HostTemplates, TemplateExpander, changedValues, sanitizeLabelValue } from '../../src/host-templates';
import { setLogSink } from '../../src/log';
import { BOARD, type Machine, SERVER, VM, writeMachine } from '../support/machines';
import { tempDir } from '../support/temp';

function factsOf(machine: Machine): HostFacts {
  const dir = tempDir('facts-');
  try {
    return readFacts(writeMachine(dir, machine));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** name → value of every variable that has one. */
function valuesOf(facts: HostFacts): Record<string, string> {
  return Object.fromEntries([...hostVariables(facts)].flatMap(([name, v]) => (v.value === undefined ? [] : [[name, v.value]])));
}

function captureLog(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  return { lines, restore: setLogSink((line) => lines.push(line)) };
}

test('a rack server: SMBIOS, two sockets, memory blocks, physical and virtual NICs, disks', () => {
  const facts = factsOf(SERVER);
  assert.equal(facts.cpu, { totalThreads: 16, totalCores: 8, processors: 2, model: 'Intel(R) Xeon(R) Silver 4110 CPU @ 2.10GHz', vendor: 'GenuineIntel' });
  assert.equal(facts.memory, { totalUsableBytes: 65_589_892 * 1024, totalPhysicalBytes: 64 * 2 ** 30 });
  assert.equal(facts.nics, [
    { name: 'bond0', isVirtual: true, macAddress: 'e4:43:4b:a0:11:20', ipv4: '10.20.8.41' },
    { name: 'eno1', isVirtual: false, macAddress: 'e4:43:4b:a0:11:20', ipv4: '10.20.7.41', ipv6: '2001:db8:7::41' },
    { name: 'eno2', isVirtual: false, macAddress: 'e4:43:4b:a0:11:21' },
  ]);
  assert.equal(facts.disks, [
    { name: 'nvme0n1', driveType: 'SSD', storageController: 'NVMe', sizeBytes: 3_750_748_848 * 512, removable: false, model: 'Dell Ent NVMe AGN MU U.2 1.6TB' },
    { name: 'sda', driveType: 'HDD', storageController: 'SCSI', sizeBytes: 7_814_037_168 * 512, removable: false, model: 'ST4000NM0035-1V4' },
    { name: 'sr0', driveType: 'ODD', storageController: 'SCSI', sizeBytes: 2_097_151 * 512, removable: true, model: 'DVD+-RW DU-8A5LH' },
  ]);
  const values = valuesOf(facts);
  const expected: Record<string, string> = {
    'System Information/Manufacturer': 'Dell Inc.',
    'Product/Vendor': 'Dell Inc.',
    'System Information/Product Name': 'PowerEdge R740xd',
    'System Information/Serial Number': 'J8XK2Q2',
    'Product/SerialNumber': 'J8XK2Q2',
    'System Information/UUID': '4c4c4544-0038-5810-804b-cac04f4b3232',
    'System Information/Version': '',
    'Base Board Information/Serial Number': '.J8XK2Q2.CNFCP0097J00SA.',
    'BaseBoard/Product': '0WGD1',
    'Chassis Information/Type': 'Rack Mount Chassis',
    'Chassis/TypeDescription': 'Rack Mount Chassis',
    'Chassis/Type': '23',
    'Chassis Information/Asset Tag': 'RACK-B07-U12',
    'BIOS Information/Release Date': '06/12/2023',
    'BIOS/Date': '06/12/2023',
    'BIOS Information/BIOS Revision': '2.19',
    'System Data/CPU/Total Cores': '8',
    'CPU/TotalThreads': '16',
    'System Data/CPU/Vendor': 'GenuineIntel',
    'CPU/Processor/Vendor': 'GenuineIntel',
    'System Data/Memory/Total Physical Bytes': '68719476736',
    'Memory/TotalUsableBytes': '67164049408',
    'System Data/Network/Number Interfaces': '3',
    'Network/TotalNICs': '3',
    'System Data/Network/eno1/MacAddress': 'e4:43:4b:a0:11:20',
    'System Data/Network/0/Name': 'bond0',
    'System Data/Network/NIC0/Name': 'eno1', // the first NIC backed by hardware
    'System Data/Network/NIC1/Name': 'eno2',
    'System Data/Network/bond0/IsVirtual': 'true',
    'Network/NICs/eno1/IsVirtual': 'false',
    'Network/NICs/eno1/IPv4Address': '10.20.7.41',
    'Network/NICs/eno1/IPv6Address': '2001:db8:7::41',
    'System Data/Block Devices/Number Devices': '3',
    'Storage/TotalDisks': '3',
    'System Data/Block Devices/sda/Size': '4000787030016',
    'System Data/Block Devices/sda/Drive Type': 'HDD',
    'Storage/Disks/nvme0n1/StorageController': 'NVMe',
    'System Data/Block Devices/sr0/Removable': 'true',
    'System Data/Block Devices/2/Name': 'sr0',
    'System Data/Runtime/Hostname': 'localhost',
  };
  for (const [name, value] of Object.entries(expected)) assert.is(values[name], value, name);
  assert.is(values['System Data/Network/NIC2/Name'], undefined);
  assert.is(values['System Data/Block Devices/loop0/Name'], undefined, 'loop devices are virtual');
});

test('a QEMU VM: what -smbios type=1 and virtio give; the files QEMU leaves out are absent', () => {
  const facts = factsOf(VM);
  assert.is(facts.dmi.product_serial, 'VM-0001');
  assert.is(facts.dmi.board_serial, undefined);
  const variables = hostVariables(facts);
  assert.is(variables.get('Chassis Information/Type')?.value, 'Other');
  assert.is(variables.get('Base Board Information/Serial Number')?.value, undefined);
  assert.is(variables.get('Base Board Information/Serial Number')?.smbios, true);
  assert.is(variables.get('System Information/UUID')?.identifying, true);
  assert.is(variables.get('System Information/Manufacturer')?.identifying, false);
  assert.is(variables.get('System Data/Block Devices/vda/Storage Controller')?.value, 'virtio');
  assert.is(variables.get('Network/NICs/ens3/IPv6Address')?.value, 'fec0::5054:ff:fe12:3456');
  assert.equal(facts.cpu, { totalThreads: 2, totalCores: 2, processors: 1, model: 'QEMU Virtual CPU version 2.5+', vendor: 'AuthenticAMD' });
});

test('an arm64 board without DMI: no SMBIOS values, cores from the processors, eMMC, link-local address only', () => {
  const facts = factsOf(BOARD);
  assert.equal(facts.dmi, {});
  assert.equal(facts.cpu, { totalThreads: 4, totalCores: 4, processors: 1 });
  assert.equal(facts.memory, { totalUsableBytes: 3_885_396 * 1024 });
  assert.equal(facts.disks, [{ name: 'mmcblk0', driveType: 'SSD', storageController: 'MMC', sizeBytes: 62_333_952 * 512, removable: false }]);
  assert.equal(
    facts.nics.map((n) => [n.name, n.isVirtual, n.ipv6]),
    [
      ['eth0', false, 'fe80::dea6:32ff:fe01:203'],
      ['wlan0', false, undefined],
    ],
  );
  const values = valuesOf(facts);
  assert.is(values['System Information/Serial Number'], undefined);
  assert.is(values['System Data/Network/NIC1/MacAddress'], 'dc:a6:32:01:02:04');
});

test('nothing readable (no /sys, no /proc, no addresses): empty facts, no error', () => {
  const facts = readFacts({
    sys: '/nonexistent/sys',
    proc: '/nonexistent/proc',
    interfaces: () => {
      throw new Error('no netlink');
    },
    hostname: () => {
      throw new Error('no uname');
    },
  });
  assert.equal(facts, { dmi: {}, cpu: {}, memory: {}, nics: [], disks: [] });
  assert.is(valuesOf(facts)['System Data/Network/Number Interfaces'], '0');
});

test('label values: sanitised to what Kubernetes accepts, only when templated', () => {
  assert.is(sanitizeLabelValue('Awesome PC'), 'Awesome-PC');
  assert.is(sanitizeLabelValue('Intel(R) Xeon(R) Silver 4110 CPU @ 2.10GHz'), 'Intel-R-Xeon-R-Silver-4110-CPU-2.10GHz');
  assert.is(sanitizeLabelValue('.J8XK2Q2.CNFCP0097J00SA.'), 'J8XK2Q2.CNFCP0097J00SA');
  assert.is(sanitizeLabelValue('--a  b--'), 'a-b');
  assert.is(sanitizeLabelValue(`${'x'.repeat(62)}-yz`), 'x'.repeat(62));
  assert.is(sanitizeLabelValue('ü'), '');
  const expander = new TemplateExpander(factsOf(SERVER), false, new Set());
  const log = captureLog();
  try {
    assert.equal(expander.expandMap({ plain: 'Awesome PC / not sanitised', half: 'a${b' }, 'label'), { plain: 'Awesome PC / not sanitised', half: 'a-b' });
    assert.equal(
      expander.expandMap(
        {
          vendor: '${System Information/Manufacturer}',
          shape: '${System Data/CPU/Total Cores}c-${System Data/Memory/Total Physical Bytes}',
          serial: 'sn-${System Information/Serial Number}',
          model: '${System Data/CPU/Model}',
        },
        'label',
      ),
      { vendor: 'Dell-Inc', shape: '8c-68719476736', serial: 'sn-J8XK2Q2', model: 'Intel-R-Xeon-R-Silver-4110-CPU-2.10GHz' },
    );
    // Annotations are kept as read.
    assert.equal(expander.expandMap({ cpu: '${CPU/Model} (${CPU/TotalThreads} threads)' }, 'annotation'), { cpu: 'Intel(R) Xeon(R) Silver 4110 CPU @ 2.10GHz (16 threads)' });
    // Serials and UUIDs stay out of the log below --debug.
    assert.not.ok(log.lines.some((line) => line.includes('J8XK2Q2') && !line.includes('DEBUG')), log.lines.join('\n'));
    assert.ok(log.lines.some((line) => line.includes('"serial"') && line.includes('shown with --debug')));
  } finally {
    log.restore();
  }
});

test('host name prefix: facts in lower case, what RFC 1123 refuses becomes "-"', () => {
  const expander = new TemplateExpander(factsOf(SERVER), false, new Set());
  assert.is(expander.expand('${System Information/Serial Number}-', 'hostname', 'prefix').value, 'j8xk2q2-');
  assert.is(expander.expand('${System Information/Product Name}-', 'hostname', 'prefix').value, 'poweredge-r740xd-');
  assert.is(expander.expand('rack-${Chassis Information/Asset Tag}-', 'hostname', 'prefix').value, 'rack-rack-b07-u12-');
});

test('an unknown variable: one line naming it and the closest known name', () => {
  const expander = new TemplateExpander(factsOf(VM), false, new Set());
  assert.throws(
    () => expander.expand('${System Information/Serial Numbr}', 'label', "host label \"rack\""),
    (err: Error) =>
      err.message === `host label "rack": unknown variable \${System Information/Serial Numbr}; did you mean \${System Information/Serial Number}? ('elemental-agent facts' lists this machine's variables)`,
  );
  assert.throws(() => expander.expand('${cpu/totalcores}', 'label', 'x'), /did you mean \$\{CPU\/TotalCores\}\?/);
  assert.throws(() => expander.expand('${Nothing Like It}', 'label', 'x'), (err: Error) => !err.message.includes('did you mean') && !err.message.includes('\n'));
  assert.throws(() => expander.expand('${Random/Hex/33}', 'label', 'x'), /unknown variable/);
});

test('known but empty here, a missing device, SMBIOS with noSmbios: "" and one WARN line each', () => {
  const log = captureLog();
  try {
    const warned = new Set<string>();
    const board = new TemplateExpander(factsOf(BOARD), false, warned);
    assert.is(board.expand('sn-${System Information/Serial Number}', 'label', 'host label "sn"').value, 'sn');
    assert.is(board.expand('${System Information/Serial Number}', 'label', 'host label "sn"').value, '');
    assert.is(board.expand('${Network/NICs/eth9/IPv4Address}', 'annotation', 'host annotation "ip"').value, '');
    const vm = new TemplateExpander(factsOf(VM), true, warned);
    assert.is(vm.expand('${Product/Name}', 'label', 'host label "model"').value, '');
    assert.is(vm.expand('${CPU/TotalCores}', 'label', 'host label "cores"').value, '2', 'noSmbios leaves hardware variables on');
    const warnings = log.lines.filter((line) => line.includes('WARN'));
    assert.is(warnings.length, 3, warnings.join('\n'));
    assert.match(warnings[0]!, /host label "sn": \$\{System Information\/Serial Number\} expands to "": this machine has no value for it \(\/sys\/class\/dmi\/id\/product_serial\)/);
    assert.match(warnings[1]!, /host annotation "ip": \$\{Network\/NICs\/eth9\/IPv4Address\} expands to "": this machine has no such device/);
    assert.match(warnings[2]!, /host label "model": \$\{Product\/Name\} expands to "": agent.noSmbios is true/);
  } finally {
    log.restore();
  }
});

test('Random variables of the older stack: drawn at each expansion, in their formats', () => {
  const expander = new TemplateExpander(factsOf(BOARD), false, new Set());
  assert.match(expander.expand('${Random/UUID}', 'annotation', 'x').value, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.match(expander.expand('${Random/Hex/6}', 'label', 'x').value, /^[0-9a-f]{6}$/);
  for (let i = 0; i < 20; i++) assert.ok(Number(expander.expand('${Random/Int/3}', 'label', 'x').value) < 3);
});

test('kept templates: only changed values come back, Random ones never', () => {
  const facts = factsOf(VM);
  const templates: HostTemplates = {
    labels: { ip: '${Network/NICs/ens3/IPv4Address}', cores: '${CPU/TotalCores}', id: '${Random/Hex/8}' },
    annotations: { mem: '${Memory/TotalUsableBytes}' },
    sent: { labels: { ip: '', cores: '2', id: 'abcdef01' }, annotations: { mem: String(2_021_144 * 1024) } },
  };
  assert.equal(changedValues(templates, new TemplateExpander(facts, false, new Set())), { labels: { ip: '10.0.2.15' } });
  templates.sent.labels.ip = '10.0.2.15';
  assert.equal(changedValues(templates, new TemplateExpander(facts, false, new Set())), {});
  facts.memory.totalUsableBytes = 4 * 2 ** 30; // a hot-add
  assert.equal(changedValues(templates, new TemplateExpander(facts, false, new Set())), { annotations: { mem: '4294967296' } });
});

test.run();
