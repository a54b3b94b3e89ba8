// The bundle's regression line (issue 22): not a target to shrink towards, a line against bloat
// that a change must not cross unnoticed. Checked by test/e2e/bundle-budget.test.ts, printed by
// `npm run bench`. KB = 1024 bytes.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

/**
 * 240 KB minified, 80 KB gzip. Raising it is a decision for the lead, not for a change: issue 22
 * set 220/75 at 212.8 KB; host information (issue 21: facts, the older stack's variable names,
 * templates) added 14.5 KB, and the line moved with it.
 */
export const BUNDLE_BUDGET = { minifiedKb: 240, gzipKb: 80 } as const;

export interface BundleSize {
  bytes: number;
  /** gzip -9 of the whole file, as it would travel in a package or user-data. */
  gzipBytes: number;
}

export function bundleSize(path: string): BundleSize {
  const bytes = readFileSync(path);
  return { bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/** One line per measure: size, budget and the margin left (negative when crossed). */
export function budgetLines(size: BundleSize): { minified: string; gzip: string; withinBudget: boolean } {
  const minifiedLeft = BUNDLE_BUDGET.minifiedKb * 1024 - size.bytes;
  const gzipLeft = BUNDLE_BUDGET.gzipKb * 1024 - size.gzipBytes;
  return {
    minified: `${size.bytes} B (${kb(size.bytes)}) of ${BUNDLE_BUDGET.minifiedKb} KB: ${minifiedLeft} B left`,
    gzip: `${size.gzipBytes} B (${kb(size.gzipBytes)}) of ${BUNDLE_BUDGET.gzipKb} KB: ${gzipLeft} B left`,
    withinBudget: minifiedLeft >= 0 && gzipLeft >= 0,
  };
}
