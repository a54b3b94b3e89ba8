// Writes the JSON inputs of the YAML fixtures (test/fixtures/yaml/<name>.json).
// The expected outputs (<name>.yaml) come from the Go oracle, not from here:
//
//   node tools/yaml-oracle/cases.mjs
//   GOPATH=/usr/share/gocode GO111MODULE=off go build -o /tmp/yaml-oracle ./tools/yaml-oracle
//   /tmp/yaml-oracle gen test/fixtures/yaml
//
// A case is either a JS value (written with JSON.stringify) or, for inputs
// JSON.stringify cannot spell (-0, 1e21, huge integers, duplicate keys), raw JSON text.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('../../test/fixtures/yaml/', import.meta.url).pathname;
const raw = (text) => ({ raw: text });

// Deterministic pseudo-random text for the long token / certificate.
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const b64url = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const randText = (alphabet, n) => Array.from({ length: n }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');

const jwt = `eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.${randText(b64url, 1400)}.${randText(b64url, 562)}`;
const pemBody = randText(b64, 64 * 18 + 20).match(/.{1,64}/g).join('\n');
const pem = `-----BEGIN CERTIFICATE-----\n${pemBody}\n-----END CERTIFICATE-----\n`;

function deep(levels) {
  let v = 'leaf';
  for (let i = levels; i > 0; i--) v = i % 3 === 0 ? [v, { n: i }] : i % 3 === 1 ? { [`level${i}`]: v } : [v];
  return v;
}

const cases = {
  // Required cases.
  'nested-maps': { foo: { bar: { foobar: 'barfoo' } } },
  'users-sequence': { users: [{ name: 'root', passwd: 'root' }] },
  'jwt-token': { token: jwt },
  'jwt-token-root': jwt,
  'pem-certificate': { tls: { cert: pem, key: pem.replace(/CERTIFICATE/g, 'PRIVATE KEY').trimEnd() } },
  'empty-object': {},
  'empty-array': [],
  'deep-nesting-mixed': {
    a: [{ b: [[{ c: { d: [1, { e: [[], {}, [{ f: 'g' }]] }] } }]] }],
    z: [[[['deep']]]],
  },
  'deep-nesting-60': deep(60),

  // Structure and indentation.
  'nested-empty': { a: {}, b: [], c: [{}, []], d: [[]], e: { f: {} } },
  'nested-sequences': [[['a']], [[]], [{}], ['x', ['y', ['z']]], [[1, 2], [3, [4, [5]]]]],
  'seq-item-map-regular-indent': [
    { a: { b: { c: 1 } }, d: [{ e: { f: 2 } }], g: [[{ h: { i: 3 } }]] },
    { j: [{ k: [{ l: { m: 'n' } }] }] },
  ],
  'map-of-seqs': { a: [1, 2], b: [[1], [2, [3]]], c: [{ x: 1, y: [] }], d: [] },
  'mixed-types': [1, '1', true, 'true', null, 'null', {}, [], 1.5, '1.5', '', ' '],
  'root-string': 'hello world',
  'root-number': raw('42'),
  'root-float': raw('-1.25e-7'),
  'root-null': raw('null'),
  'root-true': raw('true'),
  'root-empty-string': '',
  'root-literal': 'line1\nline2\n',
  'root-literal-leading-space': '  indented\nnext',
  'root-single-quoted': '- item',
  'cloud-init-like': {
    users: [{ name: 'root', passwd: 'root', ssh_authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI user@host'] }],
    write_files: [{ path: '/etc/motd', content: 'Welcome\nto elemental\n', permissions: '0644', owner: 'root:root' }],
    runcmd: ['echo hi', 'systemctl restart elemental-system-agent', ['sh', '-c', 'echo $HOME']],
    bootcmd: [],
    hostname: 'm-1234',
  },
  'registration-like': {
    registration: {
      uri: 'https://192.168.122.10:30009/elemental/v1/namespaces/default/registrations/my-registration',
      caCert: pem,
      tokenDuration: 3600000000000,
      config: { elemental: { registration: { 'no-smbios': false, 'emulate-tpm': true, 'emulated-tpm-seed': -1 } } },
    },
    agent: { debug: false, reconciliation: 10000000000, installer: 'unmanaged', workDir: '/var/lib/elemental/agent', hostname: { useExisting: true, prefix: 'm-' } },
    labels: { 'element.cattle.io/hostname': 'host-1', 'app.kubernetes.io/name': 'x', 'cpu-count': '8', arch: 'x86_64' },
  },

  // Numbers: Go float64 with strconv 'g' formatting.
  floats: raw('[0, -0, 1, -1, 1.5, 100000, 1000000, 123456, 1234567, 999999, 0.0001, 0.00001, 0.000123, 1e21, 1e20, 1e-7, 3.141592653589793, 1.7976931348623157e308, 5e-324, 2.2250738585072014e-308, 123456789012345678, 0.1, 0.30000000000000004, 2.5e-5, 100, 1e100, -1e-100, 12345.678, 1E5, 10.0, 1.0e0]'),
  'integers-large': raw('[9007199254740993, 12345678901234567890, 18446744073709551615, 9223372036854775807, -9223372036854775808, 4294967296, 1000000000000]'),
  'numbers-in-map': raw('{"replicas": 3, "ratio": 0.75, "big": 1e6, "neg": -0.0, "exp": 6.02214076e23, "small": 1.6e-19}'),
  'booleans-null': [true, false, null, { t: true, f: false, n: null }],

  // Strings that would resolve to another type: double-quoted.
  'strings-resolving': ['true', 'false', 'True', 'TRUE', 'tRUE', 'null', 'Null', 'NULL', 'nULL', '~', '', '123', '-123', '+123', '1.5', '-1.5', '+1.5', '0x1F', '0X1f', '0o17', '0O17', '0b101', '0B11', '0777', '08', '0', '00', '1e10', '1E+10', '.5', '-.5', '+.5', '.inf', '-.inf', '+.inf', '.Inf', '.INF', '.iNF', '.nan', '.NaN', '.NAN', '.nAn', '1.', '1.e5', '1_000', '1__0', '_1', '1_', '0_1'],
  'strings-int-ranges': ['9223372036854775807', '9223372036854775808', '18446744073709551615', '18446744073709551616', '-9223372036854775808', '-9223372036854775809', '+9223372036854775807', '+9223372036854775808', '0xFFFFFFFFFFFFFFFF', '0x1FFFFFFFFFFFFFFFF', '-0x8000000000000000', '-0x8000000000000001', '+0x10', '0x', '0b', '0o', '0x1G', '0b102', '0b-101', '0b+101', '-0b101', '-0b-1', '0o-7', '0o+7', '-0o7', '0o8', '077777777777777777777777', '0b' + '1'.repeat(64), '0b' + '1'.repeat(65)],
  'strings-float-edge': ['1e400', '-1e400', '1e-400', '.5_5', '._5', '.5_', '.5__5', '.5e1_0', '.5_e1', '.5e_1', '.e1', '.', '..', '.5.', '.5e', '.5e+', '1e', 'e1', '1,5', '1.2.3', '12e3x', '1_e5', '1e5_0', '0.1e-5', '-0', '+0', '-0.0', '0e0', '1e0400'],
  'old-bools': ['y', 'Y', 'yes', 'Yes', 'YES', 'yEs', 'on', 'On', 'ON', 'oN', 'n', 'N', 'no', 'No', 'NO', 'nO', 'off', 'Off', 'OFF', 'oFF', 'ok', 'o', 'yes!', 't', 'f', 'T', 'F'],
  'base60': ['1:20', '-1:20', '+1:20', '1:20:30', '190:20:30.15', '1:2', '1:60', '1:59', '1_000:20', '1:20.', '1:20.5_', 'a:20', '1:', ':20', '1::20', '12:34:56', '2001:db8::1'],
  timestamps: ['2001-12-14', '2001-12-14t21:59:43.10-05:00', '2001-12-14T21:59:43.10-05:00', '2001-12-14 21:59:43.10', '2001-12-14T21:59:43Z', '2001-12-14T21:59:43z', '2002-12-14', '2001-02-29', '2000-02-29', '1900-02-29', '2001-13-01', '2001-00-01', '2001-1-1', '2001-01-32', '2001-04-31', '2001-12-14T21:59:43.123456789Z', '2001-12-14T21:59:43.1234567890Z', '2001-12-14  21:59:43', '2001-12-14T24:00:00Z', '2001-12-14T23:60:00Z', '2001-12-14T21:59:43+-1:-2', '2001-12-14T21:59:43,5Z', '2001-12-14T21:59:43.Z', '2001-12-14T1:2:3+01:00', '2001-12-14T21:59:43+0100', '2001-12-14T21:59:43+01:00x', '2001-12-14 21:59', '2001-12-14 ', '1234-', '12345-01-01', '2001-12-14T21:59:43'],

  // Strings the emitter cannot write plain: single-quoted.
  indicators: ['a: b', '- x', '#x', 'x #y', 'x#y', 'x\t#y', '@x', '`x', '!x', '&x', '*x', '|x', '>x', '%x', "'x", '"x', '[x', ']x', '{x', '}x', ',x', '?x', '? x', '?', ':x', ': x', ':', 'x:', 'x: ', 'x:y', '-x', '-', '--', '---', '---x', '...', '....', '..x', 'a, b', 'a,b', 'a[b]', 'a{b}', 'a?b', 'key: value', '<<', '=', '+', '|', '>-', '%YAML', '!!str', 'http://example.com/x?y=z#frag', 'C:\\path', '::', 'a :b'],
  'spaces-leading-trailing': [' a', 'a ', ' ', '  ', 'a  b', ' a b ', '\u00a0a', 'a\u00a0'],
  'single-quote-escaping': ["it's", "'quoted'", "a''b", "' lead", "trail '", "- it's"],
  'double-quote-content': ['say "hi"', 'back\\slash', '"', '\\', 'true"', 'tab\t"q"', '"true"'],
  'dashes': ['-1', '-a', '- a', '-\t', '--a', 'a-', 'a - b', '-.5', '- '],
  'urls-paths-versions': ['https://example.com:8443/path', '/var/lib/x', './x', '../x', '~/x', '~x', 'x~', '1.2.3', 'v1.2.3', '1.2', '1.0', '0.1.0', '10.0.0.1', '192.168.1.1', '::1', 'fe80::1', 'user@host', 'a=b', 'k8s.io/x', 'sha256:abcdef'],

  // Literal blocks and their indicators.
  'literal-blocks': ['a\nb', 'a\nb\n', 'a\nb\n\n', '\n', '\n\n', '\na', ' a\nb', '  a\n  b\n', 'a\n\nb', 'line1\nline2\n\n\nline3', 'x\n\ty', '#!/bin/sh\necho "$1"\n', 'key: value\n- item\n', '\n\na\n', ' \n'],
  'literal-in-contexts': {
    script: '#!/bin/bash\nset -e\necho ok\n',
    nested: { deeper: { text: 'a\nb' } },
    list: ['one\ntwo', ['x\ny\n'], { k: 'p\nq\n\n' }],
    lead: ' x\ny',
  },
  'literal-rejected': ['a \nb', 'a\nb ', 'a\r\nb', 'a\n\u0001', 'a\n😀', 'a\n \nb', 'a\n\n ', '\t\n'],
  tabs: ['a\tb', '\t', 'a\t', '\ta', 'a\tb\nc', '\t\tx'],
  'carriage-returns': ['a\rb', 'a\r\nb', '\r', 'a\r', '\r\n'],
  'control-chars': ['\u0000', 'a\u0001b', '\u0007', '\b', '\f', '\u000b', '\u001b', '\u007f', '\u0080', '\u0085', 'a\u0085b', '\u009f', '\u00a0', 'a\u00a0b', '\u00ff'],
  'unicode-printable': ['héllo', '日本語', 'Ελληνικά', 'русский', 'עברית', 'emoji 😀', '😀', 'a😀b', '\ue000', '\ud7ff', '\ufffd', '\uf900', 'ﬁ', 'Å', 'µ', '€100', 'naïve café'],
  'unicode-special': ['\u2028', 'a\u2028b', 'a\u2029b', 'a\u2028', '\u2028a', 'a\u2028\u2028b', '\ufeff', '\ufeffabc d', '\ufeff"x"\n', 'x\ufeff', '\ufffe', '\uffff', '\u200b', '\u00ad'],
  'unicode-line-separators-nested': { k: ['a\u2028b', { m: 'c\u2029d' }], 'x\u2028y': 1, root: { deep: { v: 'e\u2028f' } } },
  'lone-surrogates': raw('["\\ud800", "a\\udc00b", "\\udbff\\udfff", "\\ud83d\\ude00x", {"\\ud800k": 1}]'),
  'json-escapes': raw('["\\u00e9", "\\/", "a\\\\nb", "\\"", "\\u0041"]'),

  // Keys.
  'keys-natural-order': Object.fromEntries(['a10', 'a2', 'a1', 'b', 'A', '_x', '1', '10', '2', 'x-1', 'x.1', 'a01', 'a001', 'item9', 'item10', 'abc', 'ab', 'a', 'B', 'Z', 'z', 'a0', 'a00', 'a010', 'a1b', 'a1-', 'a1.', 'a-', 'a.', 'a_', 'aB', 'Ab', '-a', '.a', '0', '00', '01', '001', '09', '010', '9', '1a', '1b', '1-', '1.', 'v1.10.0', 'v1.9.0', 'v1.2.10', 'v1.2.9', 'x9y', 'x10y', 'x09y', 'x009', 'x10', ''].map((k, i) => [k, i])),
  'keys-natural-order-2': Object.fromEntries(['node-10', 'node-2', 'node-1', 'node1', 'node01', 'node', 'node_a', 'nodeA', 'node.a', 'Node', 'NODE', 'n0de', 'n', 'é', 'e', 'f', 'É', 'ab12cd', 'ab12c', 'ab2cd', 'ab012', '12345678901234567890', '12345678901234567891', '99999999999999999999', '100000000000000000000', '1.5', '1.10', '1.05', '١', '٢x', 'a١', 'a2'].map((k, i) => [k, i])),
  'keys-needing-quotes': Object.fromEntries([['true', 1], ['123', 2], ['', 3], ['a: b', 4], ['- x', 5], ['#c', 6], [' lead', 7], ['null', 8], ['~', 9], ['yes', 10], ['1:20', 11], ['a\tb', 13], ['1.5', 14], ["it's", 15], ['@at', 16], ['😀', 17], ['\u0085', 18], ['2001-12-14', 19], ['---', 20], ['-', 21], ['?', 22], [':', 23], ['x:', 24]]),
  'keys-multiline': { 'a\nb': 'c', 'x\ny\n': { k: 'v' }, 'p\nq': [1, 2], 'r\ns': [], 't\nu': {}, 'a\u2028b': 'ls', 'c\rd': 'cr', ' lead\nx': 1, 'tr \nx': 2 },
  'keys-long': {
    ['k'.repeat(128)]: 'exactly 128',
    ['l'.repeat(129)]: 'just over',
    ['m'.repeat(200)]: { nested: { map: 1 }, list: [1, 2] },
    ['n'.repeat(150)]: [{ a: 1 }, 'b'],
    ['o'.repeat(130)]: {},
    ['p'.repeat(131)]: [],
    ['é'.repeat(64)]: '128 bytes',
    ['ê'.repeat(65)]: '130 bytes',
    ['日'.repeat(43)]: '129 bytes',
    ['- '.repeat(70)]: 'quoted long key',
    ['true'.repeat(40)]: 'x\ny',
    ['q'.repeat(129) + '\n']: 'multiline long',
  },
  'keys-long-in-sequence': [{ ['s'.repeat(140)]: { a: [1, { b: 2 }] }, short: 1 }, [{ ['t'.repeat(129)]: 'v' }]],
  'keys-unicode': { 'é': 1, '日本': 2, 'a😀': 3, z: 4, Z: 5, 'ä1': 6, a: 7, 'ª': 8, 'µ': 9, 'ß': 10, 'Ω': 11 },
  'duplicate-keys': raw('{"a": 1, "b": 2, "a": 3}'),
  'proto-key': raw('{"__proto__": {"x": 1}, "constructor": 2}'),

  // Larger generated documents.
  'big-map': Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`key${(i * 37) % 120}`, i % 5 === 0 ? [i, `v${i}`] : i % 7 === 0 ? { n: i, s: String(i) } : `value ${i}`])),
  'big-list': Array.from({ length: 80 }, (_, i) => ({ id: i, name: `item-${i}`, tags: i % 3 ? ['a', 'b'] : [], meta: i % 4 ? {} : { even: i % 2 === 0 } })),
  'whitespace-input': raw(' \n\t{ "a" :\n [ 1 ,\t2 ] }\n '),
};

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
for (const [name, value] of Object.entries(cases)) {
  const text = value && typeof value === 'object' && 'raw' in value && Object.keys(value).length === 1 ? value.raw : JSON.stringify(value, null, 2);
  writeFileSync(join(dir, `${name}.json`), text + (text.endsWith('\n') ? '' : '\n'));
}
console.log(`wrote ${readdirSync(dir).length} JSON inputs to ${dir}`);
