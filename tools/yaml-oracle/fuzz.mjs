// Randomized differential check of src/yaml.ts against the Go oracle.
// Generates seeded random JSON documents aimed at the emitter's corner cases,
// converts each with both, and reports the first disagreements.
//
//   GOPATH=/usr/share/gocode GO111MODULE=off go build -o /tmp/yaml-oracle ./tools/yaml-oracle
//   node tools/yaml-oracle/fuzz.mjs [--docs N] [--seed S] [--oracle /tmp/yaml-oracle]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const DOCS = Number(opt('docs', 5000));
const SEED = Number(opt('seed', 1));
const ORACLE = opt('oracle', '/tmp/yaml-oracle');

const root = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'yaml-fuzz-'));
await build({ entryPoints: [join(root, 'src/yaml.ts')], outfile: join(tmp, 'yaml.mjs'), bundle: true, format: 'esm', platform: 'node', logLevel: 'warning' });
const { jsonToYaml } = await import(pathToFileURL(join(tmp, 'yaml.mjs')).href);
rmSync(tmp, { recursive: true, force: true });

// mulberry32
let state = SEED >>> 0;
function rnd() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rnd() * n);
const pick = (a) => a[int(a.length)];
const chance = (p) => rnd() < p;

const CHARS = [
  ...'abcxyzABXYZeEbBoOxXtTfFnNyY0123456789',
  ...'0123456789',
  ' ', ' ', ' ', '\t', '\n', '\n', '\r', ':', ':', '#', '-', '-', '?', '.', '.', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>',
  "'", '"', '%', '@', '`', '_', '_', '+', '~', '\\', '/', '=', '<',
  '\u0085', '\u00a0', '\u2028', '\u2029', '\ufeff', 'é', 'ß', '日', '😀', '\u0000', '\u0001', '\u001b', '\u007f', '\u0080',
  '\ud800', '\udc00', '\ufffe', '\uffff', '\ufffd', '\u200b', '٣', 'ª',
];
const TOKENS = [
  'true', 'false', 'True', 'TRUE', 'null', 'Null', 'NULL', '~', '', 'yes', 'no', 'on', 'off', 'y', 'n', 'Y', 'N', 'Off', 'ON',
  '.inf', '-.inf', '+.inf', '.nan', '.NaN', '<<', '---', '...', '- ', '-', '? ', ': ', '#', ' #', 'a: b', '0x', '0b', '0o', '0',
  '1e400', '1:20', '2001-12-14', '2001-12-14T21:59:43Z', '2001-12-14 21:59:43.10', 'http://x/y?z#f', '192.168.0.1', 'v1.2.3',
];

function numberLike() {
  let s = '';
  if (chance(0.3)) s += pick(['-', '+']);
  switch (int(8)) {
    case 0: s += pick(['0x', '0X', '0b', '0o', '0B', '0O']) + Array.from({ length: 1 + int(20) }, () => pick([...'0123456789abcdefABCDEFg_'])).join(''); break;
    case 1: s += Array.from({ length: 1 + int(25) }, () => pick([...'0123456789_'])).join(''); break;
    case 2: s += `${int(100000)}.${int(1000)}e${pick(['', '+', '-'])}${int(500)}`; break;
    case 3: s += `.${int(1000)}${pick(['', '_5', 'e5', 'e_5', '_'])}`; break;
    case 4: s += `${int(200)}:${int(70)}${chance(0.5) ? ':' + int(70) : ''}${chance(0.3) ? '.' + int(10) : ''}`; break;
    case 5: {
      const p2 = (n) => (chance(0.7) ? String(n).padStart(2, '0') : String(n));
      s = `${1900 + int(200)}-${p2(int(14))}-${p2(int(33))}`;
      if (chance(0.7)) {
        s += pick(['T', 't', ' ', '  ', 'x']) + `${p2(int(26))}:${p2(int(62))}:${p2(int(62))}`;
        if (chance(0.5)) s += pick(['.', ',']) + String(int(1e6)).repeat(1 + int(2));
        if (chance(0.7)) s += pick(['Z', 'z', '+01:00', '-05:30', '+0100', '+-1:-2', '', ' ']);
      }
      break;
    }
    case 6: s += String(rnd() * 10 ** (int(40) - 20)); break;
    default: s += `${int(10)}${pick(['', '.', '.5', 'e', 'e1', '_0', 'x'])}`;
  }
  return s;
}

function randomString(maxLen = 12) {
  const r = rnd();
  if (r < 0.2) return pick(TOKENS);
  if (r < 0.35) return numberLike();
  if (r < 0.42) return pick(TOKENS) + randomString(4);
  if (r < 0.47) return pick([' ', '\n', '\t', '\u2028', '- ']) + randomString(6) + pick(['', ' ', '\n', '\n\n', '\u2028']);
  const n = int(maxLen + 1);
  let s = '';
  for (let i = 0; i < n; i++) s += chance(0.5) ? pick([...'abcdefghij']) : pick(CHARS);
  return s;
}

const KEY_CHARS = [...'ab0019-._A Zzé٣ª00112233'];
function randomKey() {
  const r = rnd();
  // Keys that exercise the "natural" ordering of sorter.go.
  if (r < 0.2) return Array.from({ length: 1 + int(8) }, () => pick(KEY_CHARS)).join('');
  if (r < 0.25) return `v${int(3)}.${int(12)}.${int(12)}${pick(['', '-rc1', '-rc10', '-rc2', '+b01'])}`;
  if (r < 0.25) return pick(['item', 'node-', 'x', 'a', 'v', '']) + int(120) + pick(['', 'a', '-1', '.5', '0', 'b2']);
  if (r < 0.3) return pick(['k', 'é', '- ', 'x\n']).repeat(40 + int(50));
  if (r < 0.35) return '0'.repeat(int(3)) + int(1e6) + pick(['', '9', 'x']);
  return randomString(8);
}

const bits = new DataView(new ArrayBuffer(8));
function randomDouble() {
  // Any finite float64, from random bits (JSON cannot carry NaN / Infinity).
  for (;;) {
    bits.setUint32(0, int(2 ** 32));
    bits.setUint32(4, int(2 ** 32));
    const f = bits.getFloat64(0);
    if (Number.isFinite(f)) return f;
  }
}

function randomNumberText() {
  switch (int(7)) {
    case 6: return String(randomDouble());
    case 0: return String(int(2000) - 1000);
    case 1: return pick(['0', '-0', '-0.0', '0.0', '1E5', '1e+06', '1000000', '100000', '0.00001', '1e21', '1e20', '5e-324', '1.7976931348623157e308']);
    case 2: return String((rnd() - 0.5) * 10 ** (int(60) - 30));
    case 3: return `${int(10)}.${int(1e6)}e${int(640) - 320}`;
    case 4: return String(Math.floor(rnd() * 2 ** 64));
    default: return String(rnd() * 1000);
  }
}

function randomValue(depth) {
  const r = rnd();
  if (depth > 0 && r < 0.25) {
    const n = chance(0.15) ? 0 : 1 + int(5);
    return `[${Array.from({ length: n }, () => randomValue(depth - 1)).join(',')}]`;
  }
  if (depth > 0 && r < 0.5) {
    const n = chance(0.15) ? 0 : 1 + int(chance(0.2) ? 25 : 5);
    const keys = new Set(Array.from({ length: n }, randomKey));
    return `{${[...keys].map((k) => `${JSON.stringify(k)}:${randomValue(depth - 1)}`).join(',')}}`;
  }
  if (r < 0.7) return JSON.stringify(randomString());
  if (r < 0.85) return randomNumberText();
  return pick(['true', 'false', 'null']);
}

const docs = Array.from({ length: DOCS }, () => randomValue(1 + int(6)));
const res = spawnSync(ORACLE, ['stream'], { input: docs.join('\n') + '\n', maxBuffer: 1 << 30 });
if (res.status !== 0) throw new Error(`oracle failed: ${res.stderr}`);
const answers = res.stdout.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
if (answers.length !== docs.length) throw new Error(`oracle answered ${answers.length} of ${docs.length}`);

let agreed = 0;
let errors = 0;
const failures = [];
docs.forEach((doc, i) => {
  const want = answers[i];
  let got;
  try {
    got = { yaml: jsonToYaml(doc) };
  } catch (e) {
    got = { error: String(e) };
  }
  if ('error' in want || 'error' in got) {
    if ('error' in want && 'error' in got) {
      agreed++;
      errors++;
    } else failures.push({ doc, want, got });
    return;
  }
  if (Buffer.from(got.yaml, 'utf8').equals(Buffer.from(want.yaml, 'utf8'))) agreed++;
  else failures.push({ doc, want: want.yaml, got: got.yaml });
});

// Go ranges over maps in random order and keyList.Less is not transitive once a
// digit run overflows int64 (e.g. keys "16908633748706119842" and "70424294558259795004461"),
// so for such maps yaml.v3 itself is nondeterministic. Re-ask the oracle to tell those apart.
const unstable = [];
for (let k = failures.length - 1; k >= 0; k--) {
  const f = failures[k];
  const again = spawnSync(ORACLE, ['stream'], { input: `${f.doc}\n`.repeat(20), maxBuffer: 1 << 30 });
  const outs = new Set(again.stdout.toString('utf8').trimEnd().split('\n'));
  if (outs.size > 1) unstable.push(...failures.splice(k, 1));
}

// Show where each of the first failures starts to differ (documents can be big).
for (const f of failures.slice(0, 3)) {
  const want = typeof f.want === 'string' ? f.want.split('\n') : [JSON.stringify(f.want)];
  // Round-trip through UTF-8 so lone surrogates show as the U+FFFD they become on disk.
  const got = typeof f.got === 'string' ? Buffer.from(f.got, 'utf8').toString('utf8').split('\n') : [JSON.stringify(f.got)];
  let line = 0;
  while (line < want.length && want[line] === got[line]) line++;
  const from = Math.max(0, line - 6);
  console.log(`--- input (${f.doc.length} chars): ${f.doc.length > 300 ? f.doc.slice(0, 300) + '...' : f.doc}`);
  console.log(`--- go, from line ${from + 1}:\n` + want.slice(from, line + 3).map((l) => JSON.stringify(l)).join('\n'));
  console.log(`--- ts, from line ${from + 1}:\n` + got.slice(from, line + 3).map((l) => JSON.stringify(l)).join('\n'));
}
console.log(
  `seed ${SEED}: ${agreed}/${docs.length} documents agree (${errors} rejected by both), ` +
    `${unstable.length} where yaml.v3 is itself nondeterministic, ${failures.length} differ`,
);
process.exit(failures.length ? 1 : 0);
