// Go time.Duration: parsing ("1m30s", "500ms", or integer nanoseconds as Kubernetes returns
// them) and formatting exactly like Duration.String(). Nanoseconds are bigint so that every
// Go duration round-trips exactly.

// A Map, not an object: the unit comes from outside, and "5__proto__" or "1constructor" must
// be an invalid duration, not Object.prototype's members multiplied by a BigInt.
const UNIT_NS = new Map<string, bigint>([
  ['ns', 1n],
  ['us', 1_000n],
  ['µs', 1_000n], // U+00B5
  ['μs', 1_000n], // U+03BC
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

const MAX_DURATION = (1n << 63n) - 1n;

/** Parses a Go duration string; returns undefined when it is not one. */
export function parseGoDuration(text: string): bigint | undefined {
  let s = text;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  const part = /^(\d*)(?:\.(\d*))?([^\d.]+)/;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m) return undefined;
    const [whole, intDigits = '', fracDigits, unit = ''] = m;
    if (intDigits === '' && (fracDigits === undefined || fracDigits === '')) return undefined;
    const scale = UNIT_NS.get(unit);
    if (scale === undefined) return undefined;
    let value = BigInt(intDigits || '0') * scale;
    if (fracDigits) {
      // Truncate like Go: fraction * scale / 10^digits.
      value += (BigInt(fracDigits) * scale) / 10n ** BigInt(fracDigits.length);
    }
    total += value;
    if (total > MAX_DURATION) return undefined;
    s = s.slice(whole.length);
  }
  return negative ? -total : total;
}

/** A duration as the config and environment give it: integer nanoseconds, or a Go string. */
export function parseDurationText(text: string): bigint | undefined {
  return /^\d+$/.test(text) ? BigInt(text) : parseGoDuration(text);
}

/** Formats nanoseconds as Go's Duration.String() does ("10s", "1m0s", "1.5s", "0s"). */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const negative = ns < 0n;
  let u = negative ? -ns : ns;
  const sign = negative ? '-' : '';
  if (u < 1_000_000_000n) {
    // Sub-second: the largest unit that keeps a non-zero integer part.
    let unit = 'ns';
    let scale = 1n;
    if (u >= 1_000_000n) {
      unit = 'ms';
      scale = 1_000_000n;
    } else if (u >= 1_000n) {
      unit = 'µs';
      scale = 1_000n;
    }
    return `${sign}${fraction(u, scale)}${unit}`;
  }
  const hours = u / 3_600_000_000_000n;
  u -= hours * 3_600_000_000_000n;
  const minutes = u / 60_000_000_000n;
  u -= minutes * 60_000_000_000n;
  const seconds = fraction(u, 1_000_000_000n);
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

function fraction(value: bigint, scale: bigint): string {
  const whole = value / scale;
  const rest = value % scale;
  if (rest === 0n) return whole.toString();
  const digits = scale.toString().length - 1;
  const frac = rest.toString().padStart(digits, '0').replace(/0+$/, '');
  return `${whole}.${frac}`;
}

/** Milliseconds for timers, clamped to what setTimeout accepts. */
export function durationToMs(ns: bigint): number {
  const ms = Number(ns / 1_000_000n);
  return Math.min(Math.max(ms, 0), 2_147_483_647);
}
