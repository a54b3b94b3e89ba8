// YAML emitter that reproduces, byte for byte, what the Go agent writes:
// `json.Unmarshal` into `any` (numbers are float64) followed by gopkg.in/yaml.v3
// (v3.0.1) `yaml.Marshal` with its defaults (4-space indent, no line folding).
//
// This is a port of the parts of yaml.v3 that such values reach: encode.go
// (style requests), resolve.go (which plain scalars would read back as another
// type), sorter.go (map key order) and emitterc.go (style selection, indentation
// and the scalar writers). The emitter's bookkeeping (column / whitespace /
// indention / indent stack) is kept as in emitterc.go on purpose: the output
// quirks (compact "- key:" items, "regular" indentation, `?` complex keys,
// block scalar indicators) all fall out of it. The reference oracle is
// tools/yaml-oracle; the fixtures in test/fixtures/yaml were produced with it.
//
// Parsing is out of scope.

/** Emits a JS value (JSON data model: objects, arrays, strings, numbers, booleans, null) as Go yaml.v3 would. */
export function toYaml(value: unknown, options?: { sortKeys?: boolean }): string {
  return new Emitter(options?.sortKeys !== false, false).document(value);
}

/** Bounds on one conversion; beyond either, jsonToYaml throws a YamlLimitError. */
export interface YamlLimits {
  /** Deepest nesting of arrays/objects accepted (the top-level value is level 1). */
  maxDepth?: number;
  /** Longest output, in UTF-16 code units (never more than its UTF-8 bytes). */
  maxLength?: number;
}

/** A conversion stopped at one of its YamlLimits: the message says which. */
export class YamlLimitError extends Error {}

/**
 * Go plugin.UnmarshalRawJSONToYaml: empty input (zero length) → '' ; else JSON.parse then
 * toYaml. Throws on invalid JSON, and a YamlLimitError beyond `limits`.
 */
export function jsonToYaml(json: string, limits: YamlLimits = {}): string {
  if (json.length === 0) return '';
  // Go's json.Unmarshal rejects numbers that overflow float64 (JSON.parse gives
  // Infinity), so the emitter is asked to throw on non-finite numbers.
  const emitter = new Emitter(true, true, limits.maxDepth ?? MAX_DEPTH, limits.maxLength ?? Infinity);
  return emitter.document(JSON.parse(wellFormedSurrogates(json)) as unknown);
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]|[\ud800-\udfff]/;
const ESCAPES = /\\(?:u([dD][89abAB][0-9a-fA-F]{2})(\\u[dD][c-fC-F][0-9a-fA-F]{2})?|u[dD][c-fC-F][0-9a-fA-F]{2}|[^])/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Go's json.Unmarshal turns a lone surrogate (escaped or not) into U+FFFD, so
 * "\ud800" and "\udc00" are the same map key there (the last one wins). Rewrite
 * them before JSON.parse so that duplicate keys collapse the same way.
 */
function wellFormedSurrogates(json: string): string {
  if (!SURROGATE_ESCAPE.test(json)) return json;
  return json
    .replace(LONE_SURROGATE, '\ufffd')
    .replace(ESCAPES, (m: string, high: string | undefined, low: string | undefined) => {
      // Keep "\x" escapes and valid pairs; a lone \uD800-\uDFFF escape becomes \uFFFD.
      return m.length === 2 || (high !== undefined && low !== undefined) ? m : '\\ufffd';
    });
}

/**
 * Default maximum nesting of arrays/objects: Go's encoding/json refuses documents nested
 * deeper than 10000, and toYaml turns a cyclic value into a clear error instead of a hang.
 * Callers converting server objects ask for much less (YamlLimits): the output of a chain d
 * levels deep grows as 2·d² bytes, so 10000 levels would be 200 MB of indentation.
 */
const MAX_DEPTH = 10000;

// ---------------------------------------------------------------------------
// Character classes (emitterc.go / yamlprivateh.go), on Unicode code points.

/** yaml.v3 is_printable: note that it rejects every non-BMP character (emoji are escaped). */
function isPrintable(c: number): boolean {
  return (
    c === 0x0a ||
    (c >= 0x20 && c <= 0x7e) ||
    (c >= 0xa0 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd && c !== 0xfeff)
  );
}

function isBreak(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x85 || c === 0x2028 || c === 0x2029;
}

/**
 * Code point at `i` (a UTF-16 index). A lone surrogate reads as U+FFFD, which is
 * what Go's json.Unmarshal stores for it and what UTF-8 encoding writes for it.
 */
function codePointAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0xd800 || c > 0xdfff) return c;
  if (c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
  }
  return 0xfffd;
}

/** UTF-8 length as Go sees the string (lone surrogates are 3-byte U+FFFD). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

// ---------------------------------------------------------------------------
// Scalar analysis (yaml_emitter_analyze_scalar), reduced to the block context:
// flow collections only ever hold nothing here ("[]" / "{}"), so the flow_*
// results are not needed.

const A_MULTILINE = 1;
const A_BLOCK_PLAIN = 2;
const A_SINGLE_QUOTED = 4;
const A_BLOCK = 8;

function analyzeScalar(s: string): number {
  const n = s.length;
  if (n === 0) return A_BLOCK_PLAIN | A_SINGLE_QUOTED;

  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let tabs = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let previousSpace = false;
  let previousBreak = false;

  const c0 = s.charCodeAt(0);
  if (n >= 3 && (c0 === 0x2d || c0 === 0x2e) && s.charCodeAt(1) === c0 && s.charCodeAt(2) === c0) {
    blockIndicators = true; // "---" / "..."
  }

  let precededByWhitespace = true;
  for (let i = 0; i < n; ) {
    let c = s.charCodeAt(i);
    let w = 1;
    if (c >= 0xd800 && c <= 0xdfff) {
      c = codePointAt(s, i);
      if (c > 0xffff) w = 2;
    }
    const next = i + w < n ? s.charCodeAt(i + w) : -1;
    const followedByWhitespace = next === -1 || next === 0x20 || next === 0x09;

    if (i === 0) {
      switch (c) {
        case 0x23: // #
        case 0x2c: // ,
        case 0x5b: // [
        case 0x5d: // ]
        case 0x7b: // {
        case 0x7d: // }
        case 0x26: // &
        case 0x2a: // *
        case 0x21: // !
        case 0x7c: // |
        case 0x3e: // >
        case 0x27: // '
        case 0x22: // "
        case 0x25: // %
        case 0x40: // @
        case 0x60: // `
          blockIndicators = true;
          break;
        case 0x3f: // ?
        case 0x3a: // :
        case 0x2d: // -
          if (followedByWhitespace) blockIndicators = true;
          break;
      }
    } else if (c === 0x3a) {
      if (followedByWhitespace) blockIndicators = true;
    } else if (c === 0x23) {
      if (precededByWhitespace) blockIndicators = true;
    }

    if (c === 0x09) tabs = true;
    else if ((c < 0x20 || c > 0x7e) && !isPrintable(c)) special = true;

    const brk = isBreak(c);
    if (c === 0x20) {
      if (i === 0) leadingSpace = true;
      if (i + w === n) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (brk) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i + w === n) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    // is_blankz: space, tab, line break or NUL.
    precededByWhitespace = c === 0x20 || c === 0x09 || brk || c === 0;
    i += w;
  }

  let blockPlain = true;
  let single = true;
  let block = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) blockPlain = false;
  if (trailingSpace) block = false;
  if (breakSpace || spaceBreak || tabs || special) {
    blockPlain = false;
    single = false;
  }
  if (spaceBreak || special) block = false;
  if (lineBreaks || blockIndicators) blockPlain = false;
  return (
    (lineBreaks ? A_MULTILINE : 0) |
    (blockPlain ? A_BLOCK_PLAIN : 0) |
    (single ? A_SINGLE_QUOTED : 0) |
    (block ? A_BLOCK : 0)
  );
}

// ---------------------------------------------------------------------------
// resolve.go: would this string, written plain, read back as something other
// than a string? If so encode.go asks for a double-quoted scalar.

const RESOLVE_MAP = new Set([
  'true', 'True', 'TRUE', 'false', 'False', 'FALSE',
  '', '~', 'null', 'Null', 'NULL',
  '.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF',
  '+.inf', '+.Inf', '+.INF', '-.inf', '-.Inf', '-.INF',
  // "<<" is in the Go map too, but its first byte has no resolve hint, so Go
  // never looks it up and writes it plain.
]);

// YAML 1.1 booleans, quoted for compatibility with YAML 1.1 readers (isOldBool).
const OLD_BOOLS = new Set([
  'y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON',
  'n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF',
]);

const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

const HINT_NONE = 0;
const HINT_SIGN = 1;
const HINT_DIGIT = 2;
const HINT_MAP = 3;
const HINT_DOT = 4;

/** resolveTable of resolve.go, indexed by the first byte. */
const RESOLVE_HINT = new Uint8Array(128);
RESOLVE_HINT[0x2b] = HINT_SIGN;
RESOLVE_HINT[0x2d] = HINT_SIGN;
for (let c = 0x30; c <= 0x39; c++) RESOLVE_HINT[c] = HINT_DIGIT;
for (const ch of 'yYnNtTfFoO~') RESOLVE_HINT[ch.charCodeAt(0)] = HINT_MAP;
RESOLVE_HINT[0x2e] = HINT_DOT;

/** True if yaml.v3 refuses to write `s` as a plain scalar because of its resolved type. */
function needsQuotingForType(s: string): boolean {
  if (s.length === 0) return true;
  const c = s.charCodeAt(0);
  const hint = c < 128 ? RESOLVE_HINT[c] ?? HINT_NONE : HINT_NONE;
  if (hint === HINT_NONE) return false;
  if (RESOLVE_MAP.has(s)) return true;
  switch (hint) {
    case HINT_MAP:
      return OLD_BOOLS.has(s);
    case HINT_DOT:
      return goParseFloatOK(s);
    default: {
      if (hint === HINT_DIGIT && isGoTimestamp(s)) return true;
      const plain = s.indexOf('_') >= 0 ? s.replace(/_/g, '') : s;
      if (goParseIntOK(plain, 0, true) || goParseIntOK(plain, 0, false)) return true;
      // ParseFloat only fails here on overflow ("1e400" stays a plain string).
      if (YAML_STYLE_FLOAT.test(plain) && Number.isFinite(Number(plain))) return true;
      if (plain.startsWith('0b')) {
        const rest = plain.slice(2);
        if (goParseIntOK(rest, 2, true) || goParseIntOK(rest, 2, false)) return true;
      } else if (plain.startsWith('-0b')) {
        if (goParseIntOK('-' + plain.slice(3), 2, true)) return true;
      }
      if (plain.startsWith('0o')) {
        const rest = plain.slice(2);
        if (goParseIntOK(rest, 8, true) || goParseIntOK(rest, 8, false)) return true;
      } else if (plain.startsWith('-0o')) {
        if (goParseIntOK('-' + plain.slice(3), 8, true)) return true;
      }
      // isBase60Float: YAML 1.1 sexagesimal numbers such as "1:20".
      return s.indexOf(':') >= 0 && BASE60_FLOAT.test(s);
    }
  }
}

function digitValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x7a) return l - 0x61 + 10;
  return 99;
}

const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * Whether Go's strconv.ParseInt(s, base, 64) (signed) or ParseUint(s, base, 64)
 * (unsigned) succeeds. Base 0 detects 0b/0o/0x prefixes and leading-zero octal.
 * The callers strip underscores beforehand, so digit separators are not handled.
 */
function goParseIntOK(s: string, base: number, signed: boolean): boolean {
  let i = 0;
  let neg = false;
  if (signed && s.length > 0) {
    const c = s.charCodeAt(0);
    if (c === 0x2b || c === 0x2d) {
      neg = c === 0x2d;
      i = 1;
    }
  }
  if (i >= s.length) return false;
  if (base === 0) {
    base = 10;
    if (s.charCodeAt(i) === 0x30) {
      const p = s.length - i >= 3 ? s.charCodeAt(i + 1) | 0x20 : 0;
      if (p === 0x62) {
        base = 2;
        i += 2;
      } else if (p === 0x6f) {
        base = 8;
        i += 2;
      } else if (p === 0x78) {
        base = 16;
        i += 2;
      } else {
        base = 8;
        i += 1; // "0" alone is a valid (empty) octal number
      }
    }
  }
  // Leading zeros never overflow; past them, more than 64 characters is beyond 2^64 in any
  // base (or not a number at all): a server's 60 MB digit string is refused here, at once,
  // instead of by a quadratic BigInt().
  let first = i;
  while (first < s.length - 1 && s.charCodeAt(first) === 0x30) first++;
  if (s.length - first > 64) return false;
  for (let j = i; j < s.length; j++) if (digitValue(s.charCodeAt(j)) >= base) return false;
  i = first;
  const digits = s.length - i;
  // Short enough to be in range whatever the base: skip the BigInt.
  if (digits * Math.log2(base) < 62) return true;
  const prefix = base === 16 ? '0x' : base === 8 ? '0o' : base === 2 ? '0b' : '';
  const v = BigInt(prefix + s.slice(i));
  if (!signed) return v <= UINT64_MAX;
  return neg ? v <= INT64_MAX + 1n : v <= INT64_MAX;
}

/** Go strconv.underscoreOK: underscores only between digits (or after a base prefix). */
function goUnderscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0') {
    const p = s.charCodeAt(1) | 0x20;
    if (p === 0x62 || p === 0x6f || p === 0x78) {
      i = 2;
      saw = '0';
      hex = p === 0x78;
    }
  }
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const l = c | 0x20;
    if ((c >= 0x30 && c <= 0x39) || (hex && l >= 0x61 && l <= 0x66)) {
      saw = '0';
      continue;
    }
    if (c === 0x5f) {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/**
 * Go strconv.ParseFloat(s, 64) succeeds, for strings starting with '.' (the only
 * caller): decimal syntax of readFloat, with Go's underscore rule, and no overflow.
 */
function goParseFloatOK(s: string): boolean {
  const n = s.length;
  let i = 0;
  let underscores = false;
  if (i < n && (s[i] === '+' || s[i] === '-')) i++;
  let sawDot = false;
  let sawDigits = false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5f) underscores = true;
    else if (c === 0x2e) {
      if (sawDot) break;
      sawDot = true;
    } else if (c >= 0x30 && c <= 0x39) sawDigits = true;
    else break;
  }
  if (!sawDigits) return false;
  if (i < n && (s.charCodeAt(i) | 0x20) === 0x65) {
    i++;
    if (i >= n) return false;
    if (s[i] === '+' || s[i] === '-') i++;
    const c = s.charCodeAt(i);
    if (i >= n || c < 0x30 || c > 0x39) return false;
    for (; i < n; i++) {
      const d = s.charCodeAt(i);
      if (d === 0x5f) underscores = true;
      else if (d < 0x30 || d > 0x39) break;
    }
  }
  if (underscores && !goUnderscoreOK(s.slice(0, i))) return false;
  if (i !== n) return false;
  return Number.isFinite(Number(underscores ? s.replace(/_/g, '') : s));
}

function isDigitAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i); // NaN past the end
  return c >= 0x30 && c <= 0x39;
}

/** Go time's getnum(s, false) at `pos`: one or two digits. Returns [value, nextPos] or null. */
function getnum(s: string, pos: number): [number, number] | null {
  if (!isDigitAt(s, pos)) return null;
  if (!isDigitAt(s, pos + 1)) return [s.charCodeAt(pos) - 0x30, pos + 1];
  return [(s.charCodeAt(pos) - 0x30) * 10 + s.charCodeAt(pos + 1) - 0x30, pos + 2];
}

/** Go time's atoi on a 2-byte zone field: optional sign then only digits (possibly none). */
function zoneFieldOK(f: string): boolean {
  return /^[+-]?[0-9]*$/.test(f);
}

function daysIn(month: number, year: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * resolve.go parseTimestamp with Go 1.19 time.Parse semantics for its layouts:
 *   "2006-1-2T15:4:5.999999999Z07:00", the same with "t", "2006-1-2 15:4:5.999999999", "2006-1-2".
 */
function isGoTimestamp(s: string): boolean {
  // Quick check of resolve.go: all formats start with YYYY-.
  if (s.length < 5 || s.charCodeAt(4) !== 0x2d) return false;
  for (let i = 0; i < 4; i++) if (!isDigitAt(s, i)) return false;
  // Every character the layouts accept is ASCII, so byte offsets = string offsets.
  for (let i = 5; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  const year = Number(s.slice(0, 4));
  const m = getnum(s, 5);
  if (!m || m[0] < 1 || m[0] > 12) return false;
  if (s.charCodeAt(m[1]) !== 0x2d) return false;
  const d = getnum(s, m[1] + 1);
  if (!d) return false;
  const dayOK = d[0] >= 1 && d[0] <= daysIn(m[0], year);
  let p = d[1];
  if (p === s.length) return dayOK; // "2006-1-2"
  const sep = s.charCodeAt(p);
  let withZone: boolean;
  if (sep === 0x54 || sep === 0x74) {
    withZone = true; // 'T' / 't'
    p++;
  } else if (sep === 0x20) {
    withZone = false; // a layout space matches one or more spaces
    while (s.charCodeAt(p) === 0x20) p++;
  } else return false;
  const hh = getnum(s, p);
  if (!hh || hh[0] >= 24 || s.charCodeAt(hh[1]) !== 0x3a) return false;
  const mm = getnum(s, hh[1] + 1);
  if (!mm || mm[0] >= 60 || s.charCodeAt(mm[1]) !== 0x3a) return false;
  const ss = getnum(s, mm[1] + 1);
  if (!ss || ss[0] >= 60) return false;
  p = ss[1];
  // .999999999: optional, '.' or ',' then at most 9 digits (Go 1.19).
  const fc = s.charCodeAt(p);
  if ((fc === 0x2e || fc === 0x2c) && isDigitAt(s, p + 1)) {
    p++;
    for (let k = 0; k < 9 && isDigitAt(s, p); k++) p++;
  }
  if (withZone) {
    // Z07:00: "Z" or sign, hh, ':', mm (each parsed with time's lax atoi).
    if (s.charCodeAt(p) === 0x5a) p++;
    else {
      if (s.length - p < 6 || s.charCodeAt(p + 3) !== 0x3a) return false;
      const sign = s.charCodeAt(p);
      if (!zoneFieldOK(s.slice(p + 1, p + 3)) || !zoneFieldOK(s.slice(p + 4, p + 6))) return false;
      if (sign !== 0x2b && sign !== 0x2d) return false;
      p += 6;
    }
  }
  return p === s.length && dayOK;
}

// ---------------------------------------------------------------------------
// Number formatting.

/** Go strconv.FormatFloat(f, 'g', -1, 64), then yaml.v3's .inf/.nan spelling. */
function formatGoFloat(f: number): string {
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  if (!Number.isFinite(f)) return Number.isNaN(f) ? '.nan' : f > 0 ? '.inf' : '-.inf';
  // In this range both Go and JS use fixed notation with the shortest digits.
  const abs = f < 0 ? -f : f;
  if (abs >= 1e-4 && abs < 1e6) return String(f);
  // JS and Go both produce the shortest round-tripping digits; only the layout differs.
  const e = f.toExponential();
  const ePos = e.indexOf('e');
  const neg = f < 0;
  const mantissa = e.slice(neg ? 1 : 0, ePos);
  const digits = mantissa.length > 1 ? mantissa[0] + mantissa.slice(2) : mantissa;
  const exp = Number(e.slice(ePos + 1));
  const sign = neg ? '-' : '';
  if (exp < -4 || exp >= 6) {
    const abs = exp < 0 ? -exp : exp;
    return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return sign + digits + '0'.repeat(exp + 1 - digits.length);
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

// ---------------------------------------------------------------------------
// Map key order: sorter.go keyList.Less for two string keys ("natural" order:
// digit runs compare by value, letters before other characters, ...).

const NON_ASCII_DIGIT = /^\p{Nd}$/u;
const NON_ASCII_LETTER = /^\p{L}$/u;

function isDigitRune(r: number): boolean {
  if (r < 0x80) return r >= 0x30 && r <= 0x39;
  return NON_ASCII_DIGIT.test(String.fromCodePoint(r));
}

function isLetterRune(r: number): boolean {
  if (r < 0x80) return (r | 0x20) >= 0x61 && (r | 0x20) <= 0x7a;
  return NON_ASCII_LETTER.test(String.fromCodePoint(r));
}

/** A key as Go's []rune(key); ASCII keys (the norm) are used directly as strings. */
type Runes = string | number[];

function toRunes(s: string): Runes {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      const out: number[] = [];
      for (let j = 0; j < s.length; ) {
        const c = codePointAt(s, j);
        out.push(c);
        j += c > 0xffff ? 2 : 1;
      }
      return out;
    }
  }
  return s;
}

function runeAt(r: Runes, i: number): number {
  return typeof r === 'string' ? r.charCodeAt(i) : r[i] ?? 0;
}

/**
 * A digit run's value as Go computes it in an int64 (wrapping; non-ASCII digits count as
 * rune-'0'), kept as two 32-bit halves: linear in the run's length, no BigInt.
 */
interface DigitRun {
  end: number;
  /** High 32 bits, signed. */
  hi: number;
  /** Low 32 bits, unsigned. */
  lo: number;
}

const TWO_32 = 0x1_0000_0000;

function digitRun(r: Runes, i: number, start: number): DigitRun {
  let hi = 0;
  let lo = start;
  // ASCII digits are gathered six at a time: v = v * 10^k + chunk (mod 2^64), where every
  // intermediate stays below 2^53, so exact.
  let chunk = 0;
  let scale = 1;
  const flush = () => {
    const low = lo * scale + chunk;
    const carry = Math.floor(low / TWO_32);
    lo = low - carry * TWO_32;
    hi = (hi * scale + carry) % TWO_32;
    chunk = 0;
    scale = 1;
  };
  let end = i;
  for (; end < r.length; end++) {
    const c = runeAt(r, end);
    if (c >= 0x30 && c <= 0x39) {
      chunk = chunk * 10 + (c - 0x30);
      scale *= 10;
      if (scale === 1_000_000) flush();
      continue;
    }
    if (c < 0x80 || !isDigitRune(c)) break;
    // A non-ASCII digit counts as rune - '0', as in Go: one step of its own.
    flush();
    chunk = c - 0x30;
    scale = 10;
    flush();
  }
  flush();
  return { end, hi: hi | 0, lo };
}

/** The digit runs starting at a given position of one key, as the sort asks for them again. */
type RunCache = Map<number, DigitRun>;

function cachedDigitRun(r: Runes, i: number, start: number, cache: RunCache | undefined): DigitRun {
  if (!cache) return digitRun(r, i, start);
  const slot = i * 2 + start;
  let run = cache.get(slot);
  if (!run) {
    run = digitRun(r, i, start);
    cache.set(slot, run);
  }
  return run;
}

function keyLess(a: Runes, b: Runes, aCache?: RunCache, bCache?: RunCache): boolean {
  const n = Math.min(a.length, b.length);
  let digits = false;
  for (let i = 0; i < n; i++) {
    const ai = runeAt(a, i);
    const bi = runeAt(b, i);
    if (ai === bi) {
      digits = isDigitRune(ai);
      continue;
    }
    const al = isLetterRune(ai);
    const bl = isLetterRune(bi);
    if (al && bl) return ai < bi;
    if (al || bl) return digits ? al : bl;
    let start = 0;
    if (ai === 0x30 || bi === 0x30) {
      // A zero continuing a non-zero digit run is a digit like any other.
      for (let j = i - 1; j >= 0 && isDigitRune(runeAt(a, j)); j--) {
        if (runeAt(a, j) !== 0x30) {
          start = 1;
          break;
        }
      }
    }
    const ra = cachedDigitRun(a, i, start, aCache);
    const rb = cachedDigitRun(b, i, start, bCache);
    if (ra.hi !== rb.hi) return ra.hi < rb.hi;
    if (ra.lo !== rb.lo) return ra.lo < rb.lo;
    if (ra.end !== rb.end) return ra.end < rb.end;
    return ai < bi;
  }
  return a.length < b.length;
}

const compareAsciiKeys = (x: string, y: string): number => (x === y ? 0 : keyLess(x, y) ? -1 : 1);

/**
 * Sorts keys (in place) in yaml.v3 order. Map keys are distinct and Less is a
 * strict order on them (bar non-ASCII digits and int64 overflow of digit runs,
 * where Go's own output depends on its random map order), so any correct sort
 * gives Go's result.
 */
function sortKeysInPlace(keys: string[]): void {
  if (keys.length < 2) return;
  let ascii = true;
  // Keys with long digit runs (a server's 16 MB of numeric keys) keep each run's value once
  // computed: a sort asks for the same runs again and again.
  let longRuns = false;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    let run = 0;
    for (let j = 0; j < k.length; j++) {
      const c = k.charCodeAt(j);
      if (c >= 0x80) ascii = false;
      run = c >= 0x30 && c <= 0x39 ? run + 1 : 0;
      if (run > 15) longRuns = true;
    }
  }
  if (ascii && !longRuns) {
    keys.sort(compareAsciiKeys);
    return;
  }
  const items = keys.map((k) => ({ k, r: ascii ? k : toRunes(k), cache: longRuns ? new Map<number, DigitRun>() : undefined }));
  items.sort((x, y) => (x.k === y.k ? 0 : keyLess(x.r, y.r, x.cache, y.cache) ? -1 : 1));
  for (let i = 0; i < items.length; i++) keys[i] = (items[i] as { k: string }).k;
}

// ---------------------------------------------------------------------------
// The emitter.

const STYLE_PLAIN = 0;
const STYLE_SINGLE = 1;
const STYLE_DOUBLE = 2;
const STYLE_LITERAL = 3;

const BEST_INDENT = 4;

const SPACES: string[] = [];
function spaces(n: number): string {
  let s = SPACES[n];
  if (s === undefined) {
    s = ' '.repeat(n);
    if (n < 1024) SPACES[n] = s;
  }
  return s;
}

function sizeText(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} characters`;
}

function hex(v: number, width: number): string {
  return v.toString(16).toUpperCase().padStart(width, '0');
}

/** Escape of one code point in a double-quoted scalar (yaml_emitter_write_double_quoted_scalar). */
function escapeCodePoint(v: number): string {
  switch (v) {
    case 0x00: return '\\0';
    case 0x07: return '\\a';
    case 0x08: return '\\b';
    case 0x09: return '\\t';
    case 0x0a: return '\\n';
    case 0x0b: return '\\v';
    case 0x0c: return '\\f';
    case 0x0d: return '\\r';
    case 0x1b: return '\\e';
    case 0x22: return '\\"';
    case 0x5c: return '\\\\';
    case 0x85: return '\\N';
    case 0xa0: return '\\_';
    case 0x2028: return '\\L';
    case 0x2029: return '\\P';
  }
  if (v <= 0xff) return '\\x' + hex(v, 2);
  if (v <= 0xffff) return '\\u' + hex(v, 4);
  return '\\U' + hex(v, 8);
}

interface SeqFrame {
  kind: 0;
  items: unknown[];
  next: number;
}
interface MapFrame {
  kind: 1;
  obj: Record<string, unknown>;
  keys: string[];
  next: number;
}
type Frame = SeqFrame | MapFrame;

class Emitter {
  // Output: small writes are appended to `chunk`, which is flattened and set
  // aside every few KB. One long `+=` rope of millions of pieces (or an array of
  // millions of pieces) costs more, in GC, than the emitting itself.
  private chunk = '';
  private readonly chunks: string[] = [];
  // Emitter bookkeeping, as in yaml_emitter_t.
  private column = 0;
  private whitespace = true;
  private indention = true;
  private indent = -1;
  private readonly indents: number[] = [];
  private readonly stack: Frame[] = [];
  private length = 0;

  constructor(
    private readonly sortKeys: boolean,
    private readonly rejectNonFinite: boolean,
    private readonly maxDepth = MAX_DEPTH,
    private readonly maxLength = Infinity,
  ) {}

  document(value: unknown): string {
    this.node(value, false);
    while (this.stack.length > 0) this.step();
    // DOCUMENT-END: finish the last line.
    this.indent = -1;
    this.writeIndent();
    this.chunks.push(this.chunk);
    return this.chunks.join('');
  }

  private write(text: string): void {
    // Checked as it grows, so that a huge result is refused before it is held.
    this.length += text.length;
    if (this.length > this.maxLength) throw new YamlLimitError(`the YAML would be larger than ${sizeText(this.maxLength)}`);
    this.chunk += text;
    if (this.chunk.length > 8192) {
      this.chunk.charCodeAt(0); // makes V8 flatten the rope now, while it is small
      this.chunks.push(this.chunk);
      this.chunk = '';
    }
  }

  // --- low-level writers (put_break, write_indent, write_indicator) ---

  private putBreak(): void {
    this.write('\n');
    this.column = 0;
    this.indention = true;
  }

  private writeIndent(): void {
    const indent = this.indent < 0 ? 0 : this.indent;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) {
      this.putBreak();
    }
    if (this.column < indent) {
      this.write(spaces(indent - this.column));
      this.column = indent;
    }
    this.whitespace = true;
  }

  private writeIndicator(indicator: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) {
      this.write(' ');
      this.column++;
    }
    this.write(indicator);
    this.column += indicator.length;
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }

  /**
   * yaml_emitter_increase_indent (yaml.v3 flavour): inside a sequence item the
   * content just skips "- "; everything else goes to the next multiple of the
   * indent, which is why a map nested in a "- key:" map sits at 4, not 6.
   */
  private increaseIndent(flow: boolean, inSequenceItem: boolean): void {
    this.indents.push(this.indent);
    if (this.indent < 0) this.indent = flow ? BEST_INDENT : 0;
    else if (inSequenceItem) this.indent += 2;
    else this.indent = BEST_INDENT * Math.floor((this.indent + BEST_INDENT) / BEST_INDENT);
  }

  private popIndent(): void {
    this.indent = this.indents.pop() ?? -1;
  }

  // --- nodes ---

  /** Emits one node; collections are pushed on the frame stack (no recursion). */
  private node(value: unknown, inSequenceItem: boolean): void {
    if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      value = (value as { toJSON: () => unknown }).toJSON(); // like JSON.stringify (e.g. Date)
    }
    switch (typeof value) {
      case 'string':
        this.stringScalar(value, analyzeScalar(value), false, inSequenceItem);
        return;
      case 'number':
        if (this.rejectNonFinite && !Number.isFinite(value)) {
          throw new Error(`cannot convert number ${value} to YAML: out of float64 range`);
        }
        this.plainScalar(formatGoFloat(value));
        return;
      case 'bigint':
        this.plainScalar(value.toString()); // as a Go integer
        return;
      case 'boolean':
        this.plainScalar(value ? 'true' : 'false');
        return;
      case 'object':
        if (value === null) break;
        if (Array.isArray(value)) this.sequence(value, inSequenceItem);
        else this.mapping(value as Record<string, unknown>, inSequenceItem);
        return;
    }
    // null, undefined (and functions/symbols, which JSON cannot carry) are Go nil.
    this.plainScalar('null');
  }

  /** Called when entering any collection, empty ones included (as Go's json scanner counts). */
  private checkDepth(): void {
    if (this.stack.length < this.maxDepth) return;
    if (this.maxDepth === MAX_DEPTH) {
      throw new Error(`cannot convert value to YAML: nesting deeper than ${MAX_DEPTH} levels (cyclic value?)`);
    }
    throw new YamlLimitError(`nesting deeper than ${this.maxDepth} levels`);
  }

  private sequence(items: unknown[], inSequenceItem: boolean): void {
    this.checkDepth();
    if (items.length === 0) {
      this.emptyFlow('[]');
      return;
    }
    this.increaseIndent(false, inSequenceItem);
    this.stack.push({ kind: 0, items, next: 0 });
  }

  private mapping(obj: Record<string, unknown>, inSequenceItem: boolean): void {
    let keys = Object.keys(obj);
    // Like JSON.stringify, properties holding undefined are absent.
    for (let i = 0; i < keys.length; i++) {
      if (obj[keys[i] as string] === undefined) {
        keys = keys.filter((k) => obj[k] !== undefined);
        break;
      }
    }
    this.checkDepth();
    if (keys.length === 0) {
      this.emptyFlow('{}');
      return;
    }
    if (this.sortKeys) sortKeysInPlace(keys);
    this.increaseIndent(false, inSequenceItem);
    this.stack.push({ kind: 1, obj, keys, next: 0 });
  }

  /** An empty collection is always written in flow style: "[" then "]" with nothing between. */
  private emptyFlow(text: string): void {
    this.writeIndicator(text, true, false, false);
  }

  /** Emits the next entry of the innermost collection (or closes it). */
  private step(): void {
    const frame = this.stack[this.stack.length - 1] as Frame;
    if (frame.kind === 0) {
      if (frame.next >= frame.items.length) {
        this.stack.pop();
        this.popIndent();
        return;
      }
      const item = frame.items[frame.next++];
      this.writeIndent();
      this.writeIndicator('-', true, false, true);
      this.node(item, true);
      return;
    }
    if (frame.next >= frame.keys.length) {
      this.stack.pop();
      this.popIndent();
      return;
    }
    const key = frame.keys[frame.next++] as string;
    this.writeIndent();
    const analysis = analyzeScalar(key);
    // yaml_emitter_check_simple_key: single line and at most 128 bytes.
    if ((analysis & A_MULTILINE) === 0 && (key.length <= 42 || (key.length <= 128 && utf8Length(key) <= 128))) {
      this.stringScalar(key, analysis, true, false);
      this.writeIndicator(':', false, false, false);
    } else {
      this.writeIndicator('?', true, false, true);
      this.stringScalar(key, analysis, false, false);
      this.writeIndent();
      this.writeIndicator(':', true, false, true);
    }
    this.node(frame.obj[key], false);
  }

  // --- scalars ---

  /** Numbers, booleans and null: always plain, and always plain-safe. */
  private plainScalar(text: string): void {
    if (!this.whitespace) {
      this.write(' ');
      this.column++;
    }
    this.write(text);
    this.column += text.length;
    this.whitespace = false;
    this.indention = false;
  }

  /** encode.go stringv + yaml_emitter_select_scalar_style + the writers. */
  private stringScalar(s: string, analysis: number, simpleKey: boolean, inSequenceItem: boolean): void {
    let style: number;
    if (s.indexOf('\n') >= 0) style = STYLE_LITERAL;
    else style = needsQuotingForType(s) ? STYLE_DOUBLE : STYLE_PLAIN;

    if (simpleKey && (analysis & A_MULTILINE) !== 0) style = STYLE_DOUBLE;
    if (style === STYLE_PLAIN) {
      if ((analysis & A_BLOCK_PLAIN) === 0 || (s.length === 0 && simpleKey)) style = STYLE_SINGLE;
    }
    if (style === STYLE_SINGLE && (analysis & A_SINGLE_QUOTED) === 0) style = STYLE_DOUBLE;
    if (style === STYLE_LITERAL && ((analysis & A_BLOCK) === 0 || simpleKey)) style = STYLE_DOUBLE;

    switch (style) {
      case STYLE_PLAIN:
        this.plainScalar(s);
        return;
      case STYLE_DOUBLE:
        this.doubleQuoted(s);
        return;
    }
    // Single-quoted and literal scalars can span lines: they need the scalar's indent.
    this.increaseIndent(true, inSequenceItem);
    if (style === STYLE_SINGLE) this.singleQuoted(s);
    else this.literal(s);
    this.popIndent();
  }

  private singleQuoted(s: string): void {
    this.writeIndicator("'", true, false, false);
    // Only U+2028/U+2029 can be line breaks here: "\n" asks for a literal, and
    // "\r" / U+0085 are non-printable, which rules single quotes out.
    let start = 0;
    let breaks = false;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (!isBreak(c)) {
        if (breaks) {
          this.writeIndent();
          breaks = false;
        }
        continue;
      }
      if (i > start) this.rawSingle(s.slice(start, i));
      this.write(s[i] as string); // write_break of a non-"\n" break copies it
      this.column = 0;
      this.indention = true;
      breaks = true;
      start = i + 1;
    }
    if (start < s.length) this.rawSingle(s.slice(start));
    this.writeIndicator("'", false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  private rawSingle(text: string): void {
    this.write(text.indexOf("'") >= 0 ? text.replace(/'/g, "''") : text);
    this.column += text.length;
    this.indention = false;
  }

  private doubleQuoted(s: string): void {
    this.writeIndicator('"', true, false, false);
    // yaml.v3's is_bom() looks at the start of the whole value, not the current
    // character: a value starting with U+FEFF gets every character escaped.
    const escapeAll = s.charCodeAt(0) === 0xfeff;
    let start = 0;
    let i = 0;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c && !escapeAll) {
        i++; // fast path: printable ASCII
        continue;
      }
      const v = codePointAt(s, i);
      const w = v > 0xffff ? 2 : 1;
      const escape = escapeAll || !isPrintable(v) || isBreak(v) || v === 0x22 || v === 0x5c;
      if (!escape && !(c >= 0xd800 && c <= 0xdfff && w === 1)) {
        i += w;
        continue;
      }
      if (i > start) this.write(s.slice(start, i));
      // A lone surrogate is U+FFFD for Go: printable, so written as is.
      this.write(escape ? escapeCodePoint(v) : '\ufffd');
      i += w;
      start = i;
    }
    if (start < s.length) this.write(s.slice(start));
    this.write('"');
    this.column += s.length + 1; // only has to be "past the indent" from here on
    this.whitespace = false;
    this.indention = false;
  }

  private literal(s: string): void {
    this.writeIndicator('|', true, false, false);
    // yaml_emitter_write_block_scalar_hints
    const first = codePointAt(s, 0);
    if (first === 0x20 || isBreak(first)) this.writeIndicator(String(BEST_INDENT), false, false, false);
    const last = s.charCodeAt(s.length - 1);
    const lastIsBreak = isBreak(last);
    if (!lastIsBreak) this.writeIndicator('-', false, false, false);
    else if (s.length === 1) this.writeIndicator('+', false, false, false);
    else {
      // The character before the final break (a surrogate pair is never a break).
      if (isBreak(s.charCodeAt(s.length - 2))) this.writeIndicator('+', false, false, false);
    }
    this.whitespace = true;
    let breaks = true;
    let start = 0;
    for (let i = 0; i <= s.length; i++) {
      const c = i < s.length ? s.charCodeAt(i) : -1;
      if (c !== -1 && !isBreak(c)) continue;
      if (i > start) {
        if (breaks) this.writeIndent();
        this.write(s.slice(start, i));
        this.column += i - start;
        this.indention = false;
        breaks = false;
      }
      if (c === -1) break;
      if (c === 0x0a) this.putBreak();
      else {
        this.write(s[i] as string);
        this.column = 0;
        this.indention = true;
      }
      breaks = true;
      start = i + 1;
    }
  }
}
