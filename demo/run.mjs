// `npm run demo`: builds the agent and runs demo/demo.ts (see scripts/run-ts.mjs).
// Usage: node demo/run.mjs [--keep]  (--keep: keep the temporary root)
import { runTsMain } from '../scripts/run-ts.mjs';

process.exit(await runTsMain('demo/demo.ts', process.argv.slice(2)));
