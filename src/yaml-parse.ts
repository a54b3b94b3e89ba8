// The agent's YAML reader: the config file's text to plain data. Tokens come from the yaml
// library's own lexer and parser, and scalars, node properties and node ends are read by its own
// functions (yaml/internal/*, the only imports of yaml in src/); this module composes the tokens
// straight into JS values. The library's composer would first build its editable document model
// (nodes, schema, tag registry, stringifier hooks), 36 KB of the bundle the agent has no use for.
//
// Each step below follows the library's composer (yaml 2.9, compose/*.js): the same checks in the
// same order, with the same codes, messages and offsets, and the same values as
// parseDocument(text, { intAsBigInt: true, uniqueKeys: false, merge: true }).toJS({ maxAliasCount })
// under the YAML 1.2 core schema: `<<` merge keys work, as they do for the reference agent (Go's
// yaml.v3). test/unit/yaml-parse.test.ts holds it to the library on a corpus, on seeded mutations
// and on generated documents. What it does not do, on purpose:
// - `%YAML 1.1` documents are read with the core schema, as Go's yaml.v3 ignores the directive
//   (`yes` is a string, `0777` the integer 777).
// - The YAML 1.1 tags !!binary, !!omap, !!pairs, !!set and !!timestamp are unresolved tags, which
//   the config loader refuses.
// - A mapping key that is a collection is an error: a JS object has no such key.
// The module is loaded lazily (config.ts), so that `version` and `--help` never parse it.
import type { CST } from 'yaml';
import { resolveBlockScalar } from 'yaml/internal/compose/resolve-block-scalar';
import { resolveEnd } from 'yaml/internal/compose/resolve-end';
import { resolveFlowScalar } from 'yaml/internal/compose/resolve-flow-scalar';
import { resolveProps } from 'yaml/internal/compose/resolve-props';
import { containsNewline } from 'yaml/internal/compose/util-contains-newline';
import { emptyScalarPosition } from 'yaml/internal/compose/util-empty-scalar-position';
import { LineCounter } from 'yaml/internal/parse/line-counter';
import { Parser } from 'yaml/internal/parse/parser';

export interface YamlProblem {
  /** The library's error code (BAD_INDENT, TAG_RESOLVE_FAILED…). */
  code: string;
  message: string;
  /** Where it starts: 1-based line and column, as the library's prettyErrors gives them. */
  line: number;
  col: number;
}

export interface YamlDocument {
  errors: YamlProblem[];
  warnings: YamlProblem[];
  /** The data (bigint for integers); throws on an alias that cannot be resolved or is abused. */
  toJS(maxAliasCount: number): unknown;
}

type Range = [number, number, number];
type Node = ScalarNode | MapNode | SeqNode | AliasNode;
interface ScalarNode {
  kind: 'scalar';
  value: unknown;
  range: Range;
  anchor?: string;
  /** Unquoted in the source (a plain `<<` key merges, also when tagged !!str). */
  plain: boolean;
}
interface MapNode {
  kind: 'map';
  /** A key without a value has null: `? a` in a block map, `{a}` in a flow map. */
  pairs: Array<[Node, Node | null]>;
  range: Range;
  anchor?: string;
}
interface SeqNode {
  kind: 'seq';
  items: Node[];
  range: Range;
  anchor?: string;
}
interface AliasNode {
  kind: 'alias';
  name: string;
  /** The last node anchored with that name before the alias, in document order. */
  target: Node | undefined;
  range: Range;
  anchor?: undefined;
}

type ErrorSource = number | [number, number] | Range | { offset: number };
type OnError = (source: ErrorSource, code: string, message: string, warning?: boolean) => void;
type Props = ReturnType<typeof resolveProps>;
type SourceToken = CST.SourceToken;

interface Context {
  onError: OnError;
  /** %TAG handles of the document, '!!' included. */
  tags: Record<string, string>;
  anchors: Map<string, Node>;
  /** Composing a mapping key: only there does a plain `<<` resolve to the merge tag. */
  atKey: boolean;
  /** Read by the block scalar reader: an unindented block scalar is fine only at the root. */
  atRoot: boolean;
}

// ---- scalars: the YAML 1.2 core schema, in the library's order --------------------------------

const TAG = 'tag:yaml.org,2002:';
interface ScalarTag {
  tag: string;
  test: RegExp;
  resolve(source: string): unknown;
  /** Resolved from an untagged scalar only at a key (the merge tag). */
  keyOnly?: true;
}
const STRING = { tag: `${TAG}str`, resolve: (source: string): unknown => source };
/** As a key, its scalar merges the value into the map; its value is the only symbol a scalar has. */
const MERGE: ScalarTag = { tag: `${TAG}merge`, test: /^<<$/, resolve: () => Symbol('<<'), keyOnly: true };
const CORE: ScalarTag[] = [
  { tag: `${TAG}null`, test: /^(?:~|[Nn]ull|NULL)?$/, resolve: () => null },
  { tag: `${TAG}bool`, test: /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, resolve: (s) => s[0] === 't' || s[0] === 'T' },
  { tag: `${TAG}int`, test: /^0o[0-7]+$/, resolve: BigInt },
  { tag: `${TAG}int`, test: /^[-+]?[0-9]+$/, resolve: BigInt },
  { tag: `${TAG}int`, test: /^0x[0-9a-fA-F]+$/, resolve: BigInt },
  {
    tag: `${TAG}float`,
    test: /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
    resolve: (s) => (s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? -Infinity : Infinity),
  },
  { tag: `${TAG}float`, test: /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/, resolve: parseFloat },
  { tag: `${TAG}float`, test: /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/, resolve: parseFloat },
  MERGE,
];

/** A tag's full name ('!' for the non-specific tag), or null when it cannot be resolved. */
function tagName({ tags, onError }: Context, token: SourceToken): string | null {
  const source = token.source;
  const fail = (message: string) => onError(token, 'TAG_RESOLVE_FAILED', message);
  if (source === '!') return '!';
  if (source[0] !== '!') {
    fail(`Not a valid tag: ${source}`);
    return null;
  }
  if (source[1] === '<') {
    const verbatim = source.slice(2, -1);
    if (verbatim === '!' || verbatim === '!!') {
      fail(`Verbatim tags aren't resolved, so ${source} is invalid.`);
      return null;
    }
    if (source[source.length - 1] !== '>') fail('Verbatim tags must end with a >');
    return verbatim;
  }
  const [, handle = '', suffix = ''] = /^(.*!)([^!]*)$/s.exec(source) ?? [];
  if (!suffix) fail(`The ${source} tag has no suffix`);
  const prefix = tags[handle];
  if (prefix) {
    try {
      return prefix + decodeURIComponent(suffix);
    } catch (error) {
      fail(String(error));
      return null;
    }
  }
  if (handle === '!') return source; // a local tag
  fail(`Could not resolve tag: ${source}`);
  return null;
}

function composeScalar(ctx: Context, token: CST.FlowScalar | CST.BlockScalar, tagToken: SourceToken | null): ScalarNode {
  const { value, range } =
    token.type === 'block-scalar'
      ? resolveBlockScalar({ atRoot: ctx.atRoot, options: { strict: true } } as Parameters<typeof resolveBlockScalar>[0], token, ctx.onError)
      : resolveFlowScalar(token, true, ctx.onError);
  const name = tagToken ? tagName(ctx, tagToken) : null;
  let tag: Pick<ScalarTag, 'resolve'> = STRING;
  if (name) {
    if (name === MERGE.tag) {
      tag = MERGE; // the library's known tag: whatever the scalar says
    } else if (name !== '!' && name !== STRING.tag) {
      const found = CORE.find((t) => t.tag === name && t.test.test(value));
      if (found) tag = found;
      else ctx.onError(tagToken!, 'TAG_RESOLVE_FAILED', `Unresolved tag: ${name}`, true);
    }
  } else if (token.type === 'scalar') {
    tag = CORE.find((t) => (!t.keyOnly || ctx.atKey) && t.test.test(value)) ?? STRING;
  }
  return { kind: 'scalar', value: tag.resolve(value), range, plain: token.type === 'scalar' };
}

// ---- nodes ------------------------------------------------------------------------------------

/** Anchors are known before a collection's items, so an alias inside it refers to it (a cycle). */
function setAnchor(ctx: Context, node: Node, anchor: SourceToken | null) {
  if (!anchor || node.kind === 'alias') return;
  node.anchor = anchor.source.substring(1);
  if (node.anchor) ctx.anchors.set(node.anchor, node);
}

function composeNode(ctx: Context, token: CST.Token, props: Props): Node {
  const { anchor, tag } = props;
  let node: Node | undefined;
  switch (token.type) {
    case 'alias':
      node = composeAlias(ctx, token);
      if (anchor || tag) ctx.onError(token, 'ALIAS_PROPS', 'An alias node must not specify any properties');
      break;
    case 'scalar':
    case 'single-quoted-scalar':
    case 'double-quoted-scalar':
    case 'block-scalar':
      node = composeScalar(ctx, token, tag);
      setAnchor(ctx, node, anchor);
      break;
    case 'block-map':
    case 'block-seq':
    case 'flow-collection':
      try {
        node = composeCollection(ctx, token, props);
      } catch (error) {
        // Almost certainly a stack overflow on deep nesting.
        ctx.onError(token, 'RESOURCE_EXHAUSTION', error instanceof Error ? error.message : String(error));
      }
      break;
    default:
      ctx.onError(token, 'UNEXPECTED_TOKEN', token.type === 'error' ? token.message : `Unsupported token (type: ${token.type})`);
  }
  node ??= composeEmptyNode(ctx, token.offset, undefined, null, props);
  if (anchor && node.anchor === '') ctx.onError(anchor, 'BAD_ALIAS', 'Anchor cannot be an empty string');
  return node;
}

function composeEmptyNode(ctx: Context, offset: number, before: CST.Token[] | undefined, pos: number | null, props: Props): ScalarNode {
  const token = { type: 'scalar', offset: emptyScalarPosition(offset, before, pos), indent: -1, source: '' } as const;
  const node = composeScalar(ctx, token, props.tag);
  if (props.anchor) {
    setAnchor(ctx, node, props.anchor);
    if (node.anchor === '') ctx.onError(props.anchor, 'BAD_ALIAS', 'Anchor cannot be an empty string');
  }
  // A comment after an empty value belongs to it: the node ends after the comment.
  if (props.comment) node.range[2] = props.end;
  return node;
}

function composeAlias(ctx: Context, { offset, source, end }: CST.FlowScalar): AliasNode {
  const name = source.substring(1);
  if (name === '') ctx.onError(offset, 'BAD_ALIAS', 'Alias cannot be an empty string');
  if (name.endsWith(':')) ctx.onError(offset + source.length - 1, 'BAD_ALIAS', 'Alias ending in : is ambiguous', true);
  const valueEnd = offset + source.length;
  const after = resolveEnd(end, valueEnd, true, ctx.onError);
  return { kind: 'alias', name, target: ctx.anchors.get(name), range: [offset, valueEnd, after.offset] };
}

function composeCollection(ctx: Context, token: CST.BlockMap | CST.BlockSequence | CST.FlowCollection, props: Props): Node {
  const tagToken = props.tag;
  const name = tagToken ? tagName(ctx, tagToken) : null;
  if (token.type === 'block-seq') {
    const { anchor, newlineAfterProp: newline } = props;
    const lastProp = anchor && tagToken ? (anchor.offset > tagToken.offset ? anchor : tagToken) : (anchor ?? tagToken);
    if (lastProp && (!newline || newline.offset < lastProp.offset)) ctx.onError(lastProp, 'MISSING_CHAR', 'Missing newline after block sequence props');
  }
  const isMap = token.type === 'block-map' || (token.type === 'flow-collection' && token.start.source === '{');
  // Only !!map and !!seq tag collections in the core schema.
  const type = isMap ? 'map' : 'seq';
  if (tagToken && name === MERGE.tag) ctx.onError(tagToken, 'BAD_COLLECTION_TYPE', `${name} used for ${type} collection, but expects scalar`, true);
  else if (tagToken && name && name !== '!' && name !== `${TAG}${type}`) ctx.onError(tagToken, 'TAG_RESOLVE_FAILED', `Unresolved tag: ${name}`, true);
  const node: MapNode | SeqNode = isMap ? { kind: 'map', pairs: [], range: [0, 0, 0] } : { kind: 'seq', items: [], range: [0, 0, 0] };
  setAnchor(ctx, node, props.anchor);
  if (token.type === 'block-map') resolveBlockMap(ctx, token, node as MapNode);
  else if (token.type === 'block-seq') resolveBlockSeq(ctx, token, node as SeqNode);
  else resolveFlowCollection(ctx, token, node);
  return node;
}

const startColumn = 'All mapping items must start at the same column';

function resolveBlockMap(ctx: Context, map: CST.BlockMap, node: MapNode) {
  const { onError } = ctx;
  ctx.atRoot = false;
  let offset = map.offset;
  let commentEnd: number | null = null;
  for (const { start, key, sep, value } of map.items) {
    const keyProps = resolveProps(start, { indicator: 'explicit-key-ind', next: key ?? sep?.[0], offset, onError, parentIndent: map.indent, startOnNewline: true });
    const implicitKey = !keyProps.found;
    if (implicitKey) {
      if (key) {
        if (key.type === 'block-seq') onError(offset, 'BLOCK_AS_IMPLICIT_KEY', 'A block sequence may not be used as an implicit map key');
        else if ('indent' in key && key.indent !== map.indent) onError(offset, 'BAD_INDENT', startColumn);
      }
      if (!keyProps.anchor && !keyProps.tag && !sep) {
        commentEnd = keyProps.end; // a comment line in the map
        continue;
      }
      if (keyProps.newlineAfterProp || containsNewline(key)) {
        onError(key ?? start[start.length - 1]!, 'MULTILINE_IMPLICIT_KEY', 'Implicit keys need to be on a single line');
      }
    } else if (keyProps.found?.indent !== map.indent) {
      onError(offset, 'BAD_INDENT', startColumn);
    }
    ctx.atKey = true;
    const keyNode = key ? composeNode(ctx, key, keyProps) : composeEmptyNode(ctx, keyProps.end, start, null, keyProps);
    ctx.atKey = false;
    const valueProps = resolveProps(sep ?? [], {
      indicator: 'map-value-ind',
      next: value,
      offset: keyNode.range[2],
      onError,
      parentIndent: map.indent,
      startOnNewline: !key || key.type === 'block-scalar',
    });
    offset = valueProps.end;
    if (valueProps.found) {
      if (implicitKey) {
        if (value?.type === 'block-map' && !valueProps.hasNewline) onError(offset, 'BLOCK_AS_IMPLICIT_KEY', 'Nested mappings are not allowed in compact mappings');
        if (keyProps.start < valueProps.found.offset - 1024) {
          onError(keyNode.range, 'KEY_OVER_1024_CHARS', 'The : indicator must be at most 1024 chars after the start of an implicit block mapping key');
        }
      }
      const valueNode = value ? composeNode(ctx, value, valueProps) : composeEmptyNode(ctx, offset, sep, null, valueProps);
      offset = valueNode.range[2];
      node.pairs.push([keyNode, valueNode]);
    } else {
      if (implicitKey) onError(keyNode.range, 'MISSING_CHAR', 'Implicit map keys need to be followed by map values');
      node.pairs.push([keyNode, null]);
    }
  }
  if (commentEnd && commentEnd < offset) onError(commentEnd, 'IMPOSSIBLE', 'Map comment with trailing content');
  node.range = [map.offset, offset, commentEnd ?? offset];
}

function resolveBlockSeq(ctx: Context, seq: CST.BlockSequence, node: SeqNode) {
  const { onError } = ctx;
  ctx.atRoot = false;
  ctx.atKey = false;
  let offset = seq.offset;
  let commentEnd: number | null = null;
  for (const { start, value } of seq.items) {
    const props = resolveProps(start, { indicator: 'seq-item-ind', next: value, offset, onError, parentIndent: seq.indent, startOnNewline: true });
    if (!props.found) {
      if (props.anchor || props.tag || value) {
        if (value?.type === 'block-seq') onError(props.end, 'BAD_INDENT', 'All sequence items must start at the same column');
        else onError(offset, 'MISSING_CHAR', 'Sequence item without - indicator');
      } else {
        commentEnd = props.end;
        continue;
      }
    }
    const item = value ? composeNode(ctx, value, props) : composeEmptyNode(ctx, props.end, start, null, props);
    offset = item.range[2];
    node.items.push(item);
  }
  node.range = [seq.offset, offset, commentEnd ?? offset];
}

const blockInFlow = 'Block collections are not allowed within flow collections';
const isBlock = (token: CST.Token | null | undefined) => token?.type === 'block-map' || token?.type === 'block-seq';

function resolveFlowCollection(ctx: Context, flow: CST.FlowCollection, node: MapNode | SeqNode) {
  const { onError } = ctx;
  const isMap = node.kind === 'map';
  const what = isMap ? 'flow map' : 'flow sequence';
  const atRoot = ctx.atRoot;
  ctx.atRoot = false;
  ctx.atKey = false;
  let offset = flow.offset + flow.start.source.length;
  for (let i = 0; i < flow.items.length; ++i) {
    const { start, key, sep, value } = flow.items[i]!;
    const props = resolveProps(start, { flow: what, indicator: 'explicit-key-ind', next: key ?? sep?.[0], offset, onError, parentIndent: flow.indent, startOnNewline: false });
    if (!props.found) {
      if (!props.anchor && !props.tag && !sep && !value) {
        if (i === 0 && props.comma) onError(props.comma, 'UNEXPECTED_TOKEN', `Unexpected , in ${what}`);
        else if (i < flow.items.length - 1) onError(props.start, 'UNEXPECTED_TOKEN', `Unexpected empty item in ${what}`);
        offset = props.end;
        continue;
      }
      if (!isMap && containsNewline(key)) onError(key!, 'MULTILINE_IMPLICIT_KEY', 'Implicit keys of flow sequence pairs need to be on a single line');
    }
    if (i === 0) {
      if (props.comma) onError(props.comma, 'UNEXPECTED_TOKEN', `Unexpected , in ${what}`);
    } else if (!props.comma) {
      onError(props.start, 'MISSING_CHAR', `Missing , between ${what} items`);
    }
    if (!isMap && !sep && !props.found) {
      // A plain item of a sequence.
      const item = value ? composeNode(ctx, value, props) : composeEmptyNode(ctx, props.end, sep, null, props);
      node.items.push(item);
      offset = item.range[2];
      if (isBlock(value)) onError(item.range, 'BLOCK_IN_FLOW', blockInFlow);
      continue;
    }
    // A key and its value: in a map, or a single-pair map in a sequence.
    ctx.atKey = true;
    const keyNode = key ? composeNode(ctx, key, props) : composeEmptyNode(ctx, props.end, start, null, props);
    if (isBlock(key)) onError(keyNode.range, 'BLOCK_IN_FLOW', blockInFlow);
    ctx.atKey = false;
    const valueProps = resolveProps(sep ?? [], { flow: what, indicator: 'map-value-ind', next: value, offset: keyNode.range[2], onError, parentIndent: flow.indent, startOnNewline: false });
    if (valueProps.found) {
      if (!isMap && !props.found) {
        for (const token of sep ?? []) {
          if (token === valueProps.found) break;
          if (token.type === 'newline') {
            onError(token, 'MULTILINE_IMPLICIT_KEY', 'Implicit keys of flow sequence pairs need to be on a single line');
            break;
          }
        }
        if (props.start < valueProps.found.offset - 1024) {
          onError(valueProps.found, 'KEY_OVER_1024_CHARS', 'The : indicator must be at most 1024 chars after the start of an implicit flow sequence key');
        }
      }
    } else if (value) {
      if ('source' in value && value.source?.[0] === ':') onError(value, 'MISSING_CHAR', `Missing space after : in ${what}`);
      else onError(valueProps.start, 'MISSING_CHAR', `Missing , or : between ${what} items`);
    }
    const valueNode = value ? composeNode(ctx, value, valueProps) : valueProps.found ? composeEmptyNode(ctx, valueProps.end, sep, null, valueProps) : null;
    if (valueNode && isBlock(value)) onError(valueNode.range, 'BLOCK_IN_FLOW', blockInFlow);
    if (node.kind === 'map') {
      node.pairs.push([keyNode, valueNode]);
    } else {
      const end = (valueNode ?? keyNode).range;
      node.items.push({ kind: 'map', pairs: [[keyNode, valueNode]], range: [keyNode.range[0], end[1], end[2]] });
    }
    offset = valueNode ? valueNode.range[2] : valueProps.end;
  }
  const expectedEnd = isMap ? '}' : ']';
  const [close, ...after] = flow.end;
  let closeEnd = offset;
  if (close?.source === expectedEnd) {
    closeEnd = close.offset + close.source.length;
  } else {
    const name = what[0]!.toUpperCase() + what.substring(1);
    const message = atRoot ? `${name} must end with a ${expectedEnd}` : `${name} in block collection must be sufficiently indented and end with a ${expectedEnd}`;
    onError(offset, atRoot ? 'MISSING_CHAR' : 'BAD_INDENT', message);
    if (close && close.source.length !== 1) after.unshift(close);
  }
  node.range = [flow.offset, closeEnd, after.length > 0 ? resolveEnd(after, closeEnd, true, onError).offset : closeEnd];
}

// ---- documents --------------------------------------------------------------------------------

function composeDocument(ctx: Context, { offset, start, value, end }: CST.Document): { contents: Node; docStart: boolean } {
  const { onError } = ctx;
  ctx.atRoot = true;
  const props = resolveProps(start, { indicator: 'doc-start', next: value ?? end?.[0], offset, onError, parentIndent: 0, startOnNewline: true });
  if (props.found && (value?.type === 'block-map' || value?.type === 'block-seq') && !props.hasNewline) {
    onError(props.end, 'MISSING_CHAR', 'Block collection cannot start on same line with directives-end marker');
  }
  const contents = value ? composeNode(ctx, value, props) : composeEmptyNode(ctx, props.end, start, null, props);
  resolveEnd(end, contents.range[2], false, onError);
  return { contents, docStart: props.found !== null };
}

/** A %YAML or %TAG line; problems are reported at `offset` plus the offset in the line. */
function addDirective(tags: Record<string, string>, line: string, report: (offset: number, message: string, warning?: boolean) => void) {
  const [name, ...parts] = line.trim().split(/[ \t]+/);
  if (name === '%TAG') {
    if (parts.length !== 2) report(0, '%TAG directive should contain exactly two parts');
    if (parts.length >= 2) tags[parts[0]!] = parts[1]!;
  } else if (name === '%YAML') {
    // Both versions read alike here (see the top of the file).
    const [version = ''] = parts;
    if (parts.length !== 1) report(0, '%YAML directive should contain exactly one part');
    else if (version !== '1.1' && version !== '1.2') report(6, `Unsupported YAML version ${version}`, /^\d+\.\d+$/.test(version));
  } else {
    report(0, `Unknown directive ${name}`, true);
  }
}

/**
 * Reads the first YAML document of `source` (a second one is an error, as for the library's
 * parseDocument). Errors and warnings are in the order the library reports them.
 */
export function readYaml(source: string): YamlDocument {
  const lines = new LineCounter();
  type Problem = { code: string; message: string; offset: number };
  // What is reported goes to the pending lists; a document takes them over when it is composed,
  // and what comes after it until the next document is its, too (as in the library's Composer).
  let errors: Problem[] = [];
  let warnings: Problem[] = [];
  const onError: OnError = (where, code, message, warning) => {
    const offset = typeof where === 'number' ? where : Array.isArray(where) ? where[0] : where.offset;
    (warning ? warnings : errors).push({ code, message, offset });
  };
  const tags: Record<string, string> = { '!!': TAG };
  let doc: { errors: Problem[]; warnings: Problem[]; contents: Node | null } | undefined;
  let atDirectives = false;
  const takePending = () => {
    if (!doc) return;
    doc.errors.push(...errors);
    doc.warnings.push(...warnings);
    errors = [];
    warnings = [];
  };
  tokens: for (const token of new Parser(lines.addNewLine).parse(source)) {
    switch (token.type) {
      case 'directive':
        addDirective(tags, token.source, (at, message, warning) => onError(token.offset + at, 'BAD_DIRECTIVE', message, warning));
        atDirectives = true;
        break;
      case 'document': {
        if (doc) {
          doc.errors.push({ code: 'MULTIPLE_DOCS', message: 'Source contains multiple documents; please use YAML.parseAllDocuments()', offset: token.offset });
          errors = [];
          warnings = [];
          break tokens;
        }
        const { contents, docStart } = composeDocument({ onError, tags, anchors: new Map(), atKey: false, atRoot: true }, token);
        if (atDirectives && !docStart) onError(token, 'MISSING_CHAR', 'Missing directives-end/doc-start indicator line');
        doc = { errors, warnings, contents };
        errors = [];
        warnings = [];
        atDirectives = false;
        break;
      }
      case 'error': {
        const message = token.source ? `${token.message}: ${JSON.stringify(token.source)}` : token.message;
        (atDirectives || !doc ? errors : doc.errors).push({ code: 'UNEXPECTED_TOKEN', message, offset: token.offset });
        break;
      }
      case 'doc-end':
        if (!doc) {
          errors.push({ code: 'UNEXPECTED_TOKEN', message: 'Unexpected doc-end without preceding document', offset: token.offset });
          break;
        }
        resolveEnd(token.end, token.offset + token.source.length, true, onError);
        takePending();
        break;
      case 'byte-order-mark':
      case 'space':
      case 'comment':
      case 'newline':
        break;
      default:
        errors.push({ code: 'UNEXPECTED_TOKEN', message: `Unsupported token ${token.type}`, offset: token.offset });
    }
  }
  if (doc) {
    takePending();
  } else {
    if (atDirectives) onError(source.length, 'MISSING_CHAR', 'Missing directives-end indicator line');
    doc = { errors, warnings, contents: null };
  }
  const located = ({ code, message, offset }: Problem): YamlProblem => ({ code, message, ...lines.linePos(offset) });
  const { contents } = doc;
  return {
    errors: doc.errors.map(located),
    warnings: doc.warnings.map(located),
    toJS: (maxAliasCount) => toJS(contents, { anchors: new Map(), maxAliasCount, linePos: lines.linePos }),
  };
}

// ---- values -----------------------------------------------------------------------------------

interface AnchorData {
  /** 1 for the anchored node itself, plus one per alias resolved to it. */
  count: number;
  /** How many aliases one copy of the node expands to (the library's measure; 0 when empty). */
  aliasCount: number;
  res: unknown;
}
interface JsContext {
  anchors: Map<Node, AnchorData>;
  maxAliasCount: number;
  linePos: (offset: number) => { line: number; col: number };
}

function toJS(node: Node | null, ctx: JsContext): unknown {
  if (!node) return null;
  if (node.kind === 'alias') return aliasToJS(node, ctx);
  let data: AnchorData | undefined;
  if (node.anchor) ctx.anchors.set(node, (data = { count: 1, aliasCount: 0, res: undefined }));
  let res: unknown;
  if (node.kind === 'scalar') {
    res = node.value;
  } else if (node.kind === 'seq') {
    const items: unknown[] = [];
    if (data) data.res = items;
    for (const item of node.items) items.push(toJS(item, ctx));
    res = items;
  } else {
    const map: Record<string, unknown> = {};
    if (data) data.res = map;
    for (const [key, value] of node.pairs) addPair(map, key, value, ctx);
    res = map;
  }
  if (data) data.res = res;
  return res;
}

/** A JS object, or a Map while a merge source is read (its keys not yet turned into names). */
type Target = Record<string, unknown> | Map<unknown, unknown>;

function addPair(map: Target, key: Node, value: Node | null, ctx: JsContext) {
  if (key.kind === 'scalar' && (typeof key.value === 'symbol' || (key.plain && key.value === '<<'))) return addMerge(map, value, ctx);
  const jsKey = toJS(key, ctx);
  if (jsKey !== null && typeof jsKey === 'object') {
    const { line, col } = ctx.linePos(key.range[0]);
    throw new Error(`invalid YAML at line ${line}, column ${col}: a mapping key must be a scalar, not a collection`);
  }
  if (map instanceof Map) {
    map.set(jsKey, toJS(value, ctx));
    return;
  }
  const name = jsKey === null ? '' : String(jsKey);
  const jsValue = toJS(value, ctx);
  // An own property, also for a duplicate key or a name Object.prototype has (__proto__).
  if (name in map) define(map, name, jsValue);
  else map[name] = jsValue;
}

const define = (map: object, key: PropertyKey, value: unknown) => Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });

/** `<<: map`, `<<: *alias` or `<<: [maps or aliases]`: keys the map does not have yet, earlier sources first. */
function addMerge(map: Target, value: Node | null, ctx: JsContext) {
  const source = value?.kind === 'alias' ? resolveAlias(value, ctx) : value;
  for (const item of source?.kind === 'seq' ? source.items : [source ?? null]) {
    const from = item?.kind === 'alias' ? resolveAlias(item, ctx) : item;
    if (from?.kind !== 'map') throw new Error('Merge sources must be maps or map aliases');
    const entries = new Map<unknown, unknown>();
    for (const [k, v] of from.pairs) addPair(entries, k, v, ctx);
    for (const [k, v] of entries) {
      if (map instanceof Map) {
        if (!map.has(k)) map.set(k, v);
      } else if (!Object.prototype.hasOwnProperty.call(map, k as PropertyKey)) {
        define(map, k as PropertyKey, v);
      }
    }
  }
}

/** The node an alias refers to, counted against maxAliasCount; undefined when there is none. */
function resolveAlias(alias: AliasNode, ctx: JsContext): Node | undefined {
  const found = alias.target;
  if (!found) return undefined;
  let data = ctx.anchors.get(found);
  if (!data) {
    toJS(found, ctx);
    data = ctx.anchors.get(found);
  }
  if (data?.res === undefined) throw new ReferenceError('This should not happen: Alias anchor was not resolved?');
  data.count += 1;
  if (data.aliasCount === 0) data.aliasCount = aliasCount(found, ctx.anchors);
  // The library's guard against a "billion laughs" document.
  if (data.count * data.aliasCount > ctx.maxAliasCount) throw new ReferenceError('Excessive alias count indicates a resource exhaustion attack');
  return found;
}

function aliasToJS(alias: AliasNode, ctx: JsContext): unknown {
  const found = resolveAlias(alias, ctx);
  if (!found) throw new ReferenceError(`Unresolved alias (the anchor must be set before the alias): ${alias.name}`);
  return ctx.anchors.get(found)!.res;
}

function aliasCount(node: Node | null, anchors: Map<Node, AnchorData>): number {
  if (!node || node.kind === 'scalar') return 1;
  if (node.kind === 'alias') {
    const data = node.target && anchors.get(node.target);
    return data ? data.count * data.aliasCount : 0;
  }
  let count = 0;
  if (node.kind === 'seq') for (const item of node.items) count = Math.max(count, aliasCount(item, anchors));
  else for (const [key, value] of node.pairs) count = Math.max(count, aliasCount(key, anchors), aliasCount(value, anchors));
  return count;
}
