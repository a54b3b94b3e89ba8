// Templated host labels, annotations and host name prefix (SPEC §17): `${Variable}` expands to a
// fact of this machine (host-variables.ts), with the older Elemental stack's reading: a `${`
// without a closing `}` is text, a value without `${` is sent byte for byte. The templates a host
// registered with are kept in its work dir, so that `run` sends a label again when its fact
// changes (a NIC's address after DHCP, memory after a hot-add).
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { AgentError, quote } from './errors';
import { editDistance } from './edit-distance';
import { type HostFacts } from './facts';
import { RANDOM_PATTERN, type Variable, hostVariables, isDeviceVariable } from './host-variables';
import { readIfExists, writeFileAtomic } from './fs';
import { log } from './log';
import type { StringMap } from './api/types';

export const HOST_TEMPLATES_FILE = 'host-templates.json';
const HOST_TEMPLATES_MODE = 0o600;

/** How an expanded value is made acceptable where it goes. */
export type Target = 'label' | 'annotation' | 'hostname';

export function isTemplate(value: string): boolean {
  return value.includes('${');
}

/**
 * What Kubernetes accepts as a label value: at most 63 of [A-Za-z0-9._-], alphanumeric at both
 * ends; any other character becomes '-' and runs of '-' collapse ("Awesome PC" → "Awesome-PC").
 */
export function sanitizeLabelValue(value: string): string {
  const trim = (text: string) => text.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return trim(trim(value.replace(/[^A-Za-z0-9._-]/g, '-').replace(/-{2,}/g, '-')).slice(0, 63));
}

/** A fact in a host name: lower case, and what RFC 1123 refuses becomes '-' (runs collapse). */
function hostnamePart(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/-{2,}/g, '-');
}

/** A Random/… variable (the older stack's): drawn at each expansion, so kept once sent. */
function random(name: string): string | undefined {
  const match = RANDOM_PATTERN.exec(name);
  if (!match) return undefined;
  const [, hex, int] = match;
  if (hex !== undefined) return Number(hex) >= 1 && Number(hex) <= 32 ? randomBytes(16).toString('hex').slice(0, Number(hex)) : undefined;
  if (int !== undefined) return Number(int) >= 1 && Number(int) <= 2 ** 47 ? String(randomInt(Number(int))) : undefined;
  return randomUUID();
}

const WARNED = new Set<string>();

/** Expands templates against one reading of the facts. */
export class TemplateExpander {
  readonly variables: Map<string, Variable>;
  constructor(
    facts: HostFacts,
    private readonly noSmbios: boolean,
    /** Variables already warned about: one WARN line each per process, not one per reconcile. */
    private readonly warned = WARNED,
  ) {
    this.variables = hostVariables(facts);
  }

  /** The known name closest to a mistyped one. */
  closest(name: string): string | undefined {
    let best: { name: string; d: number } | undefined;
    for (const known of this.variables.keys()) {
      const d = editDistance(name.toLowerCase(), known.toLowerCase());
      if (!best || d < best.d) best = { name: known, d };
    }
    return best && best.d <= Math.max(3, Math.floor(name.length / 3)) ? best.name : undefined;
  }

  private lookup(name: string, where: string): { value: string; identifying: boolean } {
    const variable = this.variables.get(name);
    if (variable === undefined && !isDeviceVariable(name)) {
      const value = random(name);
      if (value !== undefined) return { value, identifying: false };
      const suggestion = this.closest(name);
      throw new AgentError(
        `${where}: unknown variable \${${name}}${suggestion ? `; did you mean \${${suggestion}}?` : ''} ('elemental-agent facts' lists this machine's variables)`,
      );
    }
    const off = variable?.smbios === true && this.noSmbios;
    if (variable?.value !== undefined && !off) return { value: variable.value, identifying: variable.identifying };
    if (!this.warned.has(name)) {
      this.warned.add(name);
      const why = off
        ? 'agent.noSmbios is true'
        : variable
          ? `this machine has no value for it (${variable.source})`
          : 'this machine has no such device';
      log.warn(`${where}: \${${name}} expands to "": ${why}`);
    }
    return { value: '', identifying: false };
  }

  /** `template` expanded for `target`; `where` names it in errors ("host label 'rack'"). */
  expand(template: string, target: Target, where: string): { value: string; identifying: boolean } {
    if (!isTemplate(template)) return { value: template, identifying: false };
    let out = '';
    let identifying = false;
    let rest = template;
    for (;;) {
      const open = rest.indexOf('${');
      const close = open < 0 ? -1 : rest.indexOf('}', open);
      if (close < 0) break;
      const found = this.lookup(rest.slice(open + 2, close), where);
      identifying ||= found.identifying;
      out += rest.slice(0, open) + (target === 'hostname' ? hostnamePart(found.value) : found.value);
      rest = rest.slice(close + 1);
    }
    out += rest;
    return { value: target === 'label' ? sanitizeLabelValue(out) : out, identifying };
  }

  /** Every templated value of `map` expanded (the others as they are), logged as it goes. */
  expandMap(map: StringMap | undefined, target: 'label' | 'annotation'): StringMap | undefined {
    if (!map) return map;
    const out: StringMap = {};
    for (const [key, template] of Object.entries(map)) {
      const where = `host ${target} ${quote(key, 63)}`;
      const { value, identifying } = this.expand(template, target, where);
      out[key] = value;
      if (isTemplate(template)) {
        if (identifying) log.debug(`${where} = ${quote(value, 300)}`);
        log.info(`${where} = ${identifying ? '(names this machine: shown with --debug)' : quote(value, 300)}`);
      }
    }
    return out;
  }
}

/** What a host registered with, kept in <workDir>/host-templates.json: only templated entries. */
export interface HostTemplates {
  labels: StringMap;
  annotations: StringMap;
  /** The values last sent for them. */
  sent: { labels: StringMap; annotations: StringMap };
}

export function templatedOnly(map: StringMap | undefined): StringMap {
  return Object.fromEntries(Object.entries(map ?? {}).filter(([, value]) => isTemplate(value)));
}

export function saveHostTemplates(path: string, templates: HostTemplates): void {
  writeFileAtomic(path, `${JSON.stringify(templates, null, 2)}\n`, HOST_TEMPLATES_MODE);
}

function isStringMap(value: unknown): value is StringMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

/** The templates of a registered host; none (undefined) when it has none or the file is unusable. */
export function loadHostTemplates(path: string, displayPath: string): HostTemplates | undefined {
  const text = readIfExists(path);
  if (text === undefined) return undefined;
  try {
    const data = JSON.parse(text) as HostTemplates;
    if ([data.labels, data.annotations, data.sent?.labels, data.sent?.annotations].every(isStringMap)) return data;
  } catch {
    // reported below
  }
  log.warn(`${displayPath}: not a host templates file; templated labels and annotations are not kept current`);
  return undefined;
}

/**
 * The labels and annotations whose value differs from what was last sent, recomputed from
 * `expander`; Random/… ones keep the value they were registered with.
 */
export function changedValues(templates: HostTemplates, expander: TemplateExpander): { labels?: StringMap; annotations?: StringMap } {
  const changes: { labels?: StringMap; annotations?: StringMap } = {};
  for (const target of ['label', 'annotation'] as const) {
    const field = `${target}s` as const;
    for (const [key, template] of Object.entries(templates[field])) {
      if (/\$\{Random\//.test(template)) continue;
      const { value } = expander.expand(template, target, `host ${target} ${quote(key, 63)}`);
      if (templates.sent[field][key] !== value) (changes[field] ??= {})[key] = value;
    }
  }
  return changes;
}
