// Takes one big string field out of a JSON object body as bytes, without turning the body into
// a JS string. The bootstrap answer is {"format": "...", "config": "<megabytes>"}: parsed the
// ordinary way, the body is held as a buffer, as a string and as the parsed config string at
// once (and a non-ASCII config as a two-byte string). Here the config is unescaped in place,
// inside the body buffer, and only the small remainder goes through JSON.parse.
//
// It is an optimisation only: for anything it does not expect (not an object, an escaped key,
// the field not a string, bytes that are not UTF-8, a bad escape, a remainder JSON.parse
// refuses) it returns undefined with the body untouched, and the caller parses the body the
// ordinary way, which also gives the ordinary error.
import * as buffer from 'node:buffer';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

// buffer.isUtf8 exists from Node 18.14; without it the fast path is simply not taken.
const isUtf8 = (buffer as { isUtf8?: (input: Uint8Array) => boolean }).isUtf8;

export interface ExtractedField {
  /** The field's decoded UTF-8 bytes: a view into the body buffer, which now holds them. */
  value: Buffer;
  /** JSON.parse of the body with every occurrence of the field's value replaced by "". */
  rest: unknown;
}

const isSpace = (b: number | undefined) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

function skipSpace(body: Buffer, i: number): number {
  while (isSpace(body[i])) i++;
  return i;
}

/** Index just past the string token starting at `i` (a quote), or -1 if it never ends. */
function stringEnd(body: Buffer, i: number): number {
  for (let j = i + 1; j < body.length; j++) {
    const b = body[j];
    if (b === BACKSLASH) j++;
    else if (b === QUOTE) return j + 1;
  }
  return -1;
}

/** Index just past the value starting at `i`, or -1. Only finds its end: JSON.parse of the
 * remainder checks everything outside the extracted field. */
function valueEnd(body: Buffer, i: number): number {
  const first = body[i];
  if (first === QUOTE) return stringEnd(body, i);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (let j = i; j < body.length; j++) {
      const b = body[j];
      if (b === QUOTE) {
        j = stringEnd(body, j) - 1;
        if (j < 0) return -1;
      } else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        if (--depth === 0) return j + 1;
      }
    }
    return -1;
  }
  let j = i;
  while (j < body.length && !isSpace(body[j]) && body[j] !== COMMA && body[j] !== CLOSE_BRACE && body[j] !== CLOSE_BRACKET) j++;
  return j === i ? -1 : j;
}

const hexValue = (b: number | undefined): number => {
  if (b === undefined) return -1;
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
};

function hex4(body: Buffer, i: number): number {
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const h = hexValue(body[i + k]);
    if (h < 0) return -1;
    v = (v << 4) | h;
  }
  return v;
}

const SIMPLE_ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };

/**
 * Unescapes the string token [start, end) into bytes written from `start` on (the output is
 * never longer than the input, so writing trails reading). With `write` false it only checks
 * that the token is one JSON.parse accepts. Returns the end of the output, or -1.
 */
function unescape(body: Buffer, start: number, end: number, write: boolean): number {
  let w = start;
  const put = (b: number) => {
    if (write) body[w] = b;
    w++;
  };
  for (let r = start + 1; r < end - 1; ) {
    const b = body[r]!;
    if (b < 0x20) return -1; // JSON.parse refuses raw control characters
    if (b !== BACKSLASH) {
      put(b);
      r++;
      continue;
    }
    const e = body[r + 1]!;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      put(simple);
      r += 2;
      continue;
    }
    if (e !== 0x75) return -1; // only \u is left
    let code = hex4(body, r + 2);
    if (code < 0) return -1;
    r += 6;
    if (code >= 0xd800 && code <= 0xdbff && body[r] === BACKSLASH && body[r + 1] === 0x75) {
      const low = hex4(body, r + 2);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        r += 6;
      }
    }
    // A lone surrogate: JSON.parse keeps it, and writing that string as UTF-8 gives U+FFFD.
    if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
    if (code < 0x80) put(code);
    else if (code < 0x800) {
      put(0xc0 | (code >> 6));
      put(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      put(0xe0 | (code >> 12));
      put(0x80 | ((code >> 6) & 0x3f));
      put(0x80 | (code & 0x3f));
    } else {
      put(0xf0 | (code >> 18));
      put(0x80 | ((code >> 12) & 0x3f));
      put(0x80 | ((code >> 6) & 0x3f));
      put(0x80 | (code & 0x3f));
    }
  }
  return w;
}

/**
 * Extracts the top-level string field `name` from the JSON object in `body`, decoding it in
 * place (the body buffer is modified). Returns undefined, with the body untouched, whenever
 * the ordinary JSON.parse path should be taken instead.
 */
export function extractStringField(body: Buffer, name: string): ExtractedField | undefined {
  if (!isUtf8 || !isUtf8(body)) return undefined; // toString() would replace bad bytes: let it
  const key = Buffer.from(JSON.stringify(name));
  const spans: [number, number][] = [];
  let lastIsString = false;
  let i = skipSpace(body, 0);
  if (body[i] !== OPEN_BRACE) return undefined;
  i = skipSpace(body, i + 1);
  if (body[i] === CLOSE_BRACE) return undefined;
  for (;;) {
    if (body[i] !== QUOTE) return undefined;
    const keyEnd = stringEnd(body, i);
    if (keyEnd < 0) return undefined;
    // An escaped key might spell the name in another way: not worth the trouble here.
    if (body.subarray(i, keyEnd).includes(BACKSLASH)) return undefined;
    const isField = keyEnd - i === key.length && body.compare(key, 0, key.length, i, keyEnd) === 0;
    i = skipSpace(body, keyEnd);
    if (body[i] !== COLON) return undefined;
    const start = skipSpace(body, i + 1);
    const end = valueEnd(body, start);
    if (end < 0) return undefined;
    if (isField) {
      lastIsString = body[start] === QUOTE;
      if (lastIsString) spans.push([start, end]);
    }
    i = skipSpace(body, end);
    if (body[i] === COMMA) {
      i = skipSpace(body, i + 1);
      continue;
    }
    if (body[i] !== CLOSE_BRACE) return undefined;
    break;
  }
  if (skipSpace(body, i + 1) !== body.length || !lastIsString) return undefined;
  // Every occurrence is left out of the remainder, so each must be a string JSON.parse takes.
  for (const [s, e] of spans) if (unescape(body, s, e, false) < 0) return undefined;
  const [start, end] = spans[spans.length - 1]!;
  let rest = '';
  let from = 0;
  for (const [s, e] of spans) {
    rest += `${body.toString('utf8', from, s)}""`;
    from = e;
  }
  rest += body.toString('utf8', from);
  // Parsed before the body is touched: if the rest is not JSON, the ordinary path reports it.
  let parsedRest: unknown;
  try {
    parsedRest = JSON.parse(rest);
  } catch {
    return undefined;
  }
  const valueEndAt = unescape(body, start, end, true);
  return { value: body.subarray(start, valueEndAt), rest: parsedRest };
}
