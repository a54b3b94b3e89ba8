// `npm run bench -- fleet`: N real agents (FLEET_N, default 100) against one stand-in API on
// 127.0.0.1: a boot storm, a steady fleet, and two outages (connections refused; 503) with their
// recovery. Each scenario prints a table and a per-second histogram of the requests the stand-in
// saw. Ctrl-C stops every agent and the stand-in before the bench exits.
import { type Fleet, type OutageMode, firstReconcileAfter, peakInWindow, registrationCounts, requestsBetween, startFleet, timesToInstalled, waitUntil } from '../test/support/fleet';
import type { RecordedRequest } from '../test/support/elemental-api';
import { retryWaitMs } from '../src/agent';

const N = Number(process.env.FLEET_N ?? 100);
const PERIOD_MS = 2000;
const OUTAGE_S = Number(process.env.FLEET_OUTAGE_S ?? 30);
const AFTER_S = Number(process.env.FLEET_AFTER_S ?? 60);
const STEADY_S = Number(process.env.FLEET_STEADY_S ?? 20);

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
};
const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function table(title: string, rows: [string, string, string?][]): void {
  console.log(`\n### ${title}\n\n| measurement | value | goal |\n|---|---|---|`);
  for (const [what, value, goal] of rows) console.log(`| ${what} | ${value} | ${goal ?? ''} |`);
}

/** Requests per second from `from`, one line a second: a bar, the count, and a mark. */
function histogram(requests: readonly RecordedRequest[], from: number, to: number, marks: Record<number, string> = {}): void {
  const seconds = Math.ceil((to - from) / 1000);
  const counts = new Array<number>(seconds).fill(0);
  for (const r of requests) if (r.time >= from && r.time < to) counts[Math.floor((r.time - from) / 1000)]!++;
  const max = Math.max(1, ...counts);
  console.log('\n```');
  counts.forEach((c, s) => console.log(`${String(s).padStart(4)}s ${'#'.repeat(Math.round((c / max) * 50)).padEnd(50)} ${String(c).padStart(5)}${marks[s] ? `  ← ${marks[s]}` : ''}`));
  console.log('```');
}

async function bootStorm(fleet: Fleet): Promise<void> {
  fleet.api.resetPeak();
  const start = Date.now();
  fleet.startAll(['register', '--install']);
  const spread = Math.max(...fleet.members.map((m) => m.startedAt)) - start;
  const results = await fleet.waitAll();
  const end = Date.now();
  const counts = registrationCounts(fleet);
  const times = timesToInstalled(fleet);
  const requests = requestsBetween(fleet.api, start, end);
  table(`boot storm: ${N} × register --install started within ${spread} ms`, [
    ['agents exited 0', `${results.filter((r) => r.code === 0).length} / ${N}`, `${N}`],
    ['hosts on the server', `${counts.hosts}`, `${N}: ${verdict(counts.hosts === N)}`],
    ['duplicates (a key owning two hosts)', `${counts.duplicates}`, `0: ${verdict(counts.duplicates === 0)}`],
    ['orphans (a host no agent owns)', `${counts.orphans}`, `0: ${verdict(counts.orphans === 0)}`],
    ['time to InstallationReady p50 / p99', `${pct(times, 50)} / ${pct(times, 99)} ms`],
    ['requests (all) / per agent', `${requests.length} / ${(requests.length / N).toFixed(1)}`],
    ['peak concurrent connections', `${fleet.api.peakConnections}`],
    ['peak requests in 1 s', `${peakInWindow(requests)}`],
  ]);
  histogram(requests, start, end);
}

interface Steady {
  mean: number;
}

async function steady(fleet: Fleet): Promise<Steady> {
  fleet.startAll(['run']);
  // Settle: every agent has reconciled once, then two more periods.
  await waitUntil(() => firstReconcileAfter(fleet, 0).every(Boolean), 60_000);
  await sleep(2 * PERIOD_MS);
  const from = Date.now();
  const rssSamples: number[][] = [];
  for (let s = 0; s < STEADY_S; s++) {
    await sleep(1000);
    if (s % 5 === 4) rssSamples.push(fleet.rssKib());
  }
  const to = Date.now();
  const requests = requestsBetween(fleet.api, from, to);
  const perSecond = new Array<number>(Math.floor((to - from) / 1000)).fill(0);
  for (const r of requests) {
    const s = Math.floor((r.time - from) / 1000);
    if (s < perSecond.length) perSecond[s]!++;
  }
  const mean = perSecond.reduce((a, b) => a + b, 0) / perSecond.length;
  const sd = Math.sqrt(perSecond.reduce((a, b) => a + (b - mean) ** 2, 0) / perSecond.length);
  const rss = rssSamples.at(-1) ?? [];
  const sum = rss.reduce((a, b) => a + b, 0);
  const bytes = requests.reduce((a, r) => a + r.rawBody.length + r.responseBytes, 0);
  // Request line and headers as sent (name: value CRLF); the response's are not recorded.
  const headerBytes = requests.reduce((a, r) => a + `${r.method} ${r.url} HTTP/1.1`.length + 2 + Object.entries(r.headers).reduce((h, [k, v]) => h + k.length + v.length + 4, 0), 0);
  const reconciles = requests.filter((r) => (r.body as { phase?: string } | undefined)?.phase === 'Running').length;
  table(`steady: ${N} × run, reconciliation ${PERIOD_MS / 1000}s, ${STEADY_S} s`, [
    ['requests/s mean (sd; min–max of 1 s windows)', `${mean.toFixed(1)} (${sd.toFixed(1)}; ${Math.min(...perSecond)}–${Math.max(...perSecond)})`, `≈ ${N} agents × requests per reconcile / ${PERIOD_MS / 1000}s`],
    ['requests per reconcile (per agent-period)', `${(requests.length / Math.max(1, reconciles)).toFixed(2)}`],
    ['bodies per reconcile: request + response', `${(bytes / Math.max(1, reconciles)).toFixed(0)} B`],
    ['request lines + headers per reconcile', `${(headerBytes / Math.max(1, reconciles)).toFixed(0)} B`],
    ['peak requests in 1 s', `${peakInWindow(requests)}`],
    ['RSS summed / per agent (median, max)', `${(sum / 1024).toFixed(0)} MB / ${(pct(rss, 50) / 1024).toFixed(1)} MB, ${(Math.max(...rss) / 1024).toFixed(1)} MB`],
  ]);
  histogram(requests, from, to);
  return { mean };
}

async function outage(fleet: Fleet, mode: OutageMode, base: Steady): Promise<void> {
  const start = Date.now();
  await sleep(3000);
  const down = Date.now();
  await fleet.outage(mode);
  await sleep(OUTAGE_S * 1000);
  const recovered = Date.now();
  await fleet.recover();
  // Bounded: the whole minute after recovery is what the peak is judged on.
  await sleep(AFTER_S * 1000);
  const end = Date.now();
  const back = firstReconcileAfter(fleet, recovered);
  const lag = back.map((t) => (t === undefined ? Infinity : t - recovered));
  const after = requestsBetween(fleet.api, recovered, recovered + AFTER_S * 1000);
  const during = requestsBetween(fleet.api, down, recovered);
  const peak = peakInWindow(after);
  // The longest wait between two tries of an agent: the back-off's cap (src/agent.ts).
  const longestBackoffMs = retryWaitMs(PERIOD_MS, Number.MAX_SAFE_INTEGER, () => 1);
  const bound = 2 * PERIOD_MS + longestBackoffMs;
  const worst = Math.max(...lag);
  const label = mode === 'refuse' ? 'connections refused' : 'every request answered 503';
  table(`outage: ${label} for ${OUTAGE_S} s, then recovery (${N} agents, reconciliation ${PERIOD_MS / 1000}s)`, [
    ['requests that reached the stand-in during the outage /s', `${(during.length / OUTAGE_S).toFixed(1)}`],
    [`peak requests in 1 s, ${AFTER_S} s after recovery`, `${peak} = ${(peak / base.mean).toFixed(2)} × steady mean ${base.mean.toFixed(1)}`, `≤ 1.5 ×: ${verdict(peak <= 1.5 * base.mean)}`],
    ['agents back (a Running PATCH answered 200)', `${back.filter(Boolean).length} / ${N}`, `${N}`],
    ['time until every agent reconciled again', `${worst === Infinity ? 'never' : `${worst} ms`} (p50 ${pct(lag, 50)} ms)`, `≤ 2 periods + longest back-off = ${bound} ms: ${verdict(worst <= bound)}`],
  ]);
  histogram(fleet.api.requests, start, end, { [Math.floor((down - start) / 1000)]: `${mode} from here`, [Math.floor((recovered - start) / 1000)]: 'recovered' });
}

export async function fleetBench(): Promise<number> {
  if (!(Number.isInteger(N) && N > 0 && N <= 1000)) {
    console.error(`FLEET_N=${process.env.FLEET_N}: give a whole number from 1 to 1000`);
    return 2;
  }
  const total = 60 + STEADY_S + 2 * (OUTAGE_S + AFTER_S + 5) + 60;
  console.log(`fleet: ${N} agents, reconciliation ${PERIOD_MS / 1000}s, outages ${OUTAGE_S} s (+${AFTER_S} s observed): about ${Math.ceil(total / 60)} min`);
  const fleet = await startFleet({ n: N, periodMs: PERIOD_MS, timeoutMs: total * 1000 + 120_000 });
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) return;
    interrupted = true;
    console.error('\ninterrupted: stopping the fleet and the stand-in');
    void fleet.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSigint);
  try {
    await bootStorm(fleet);
    const base = await steady(fleet);
    await outage(fleet, 'refuse', base);
    await outage(fleet, '503', base);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    if (!interrupted) await fleet.close();
  }
}
