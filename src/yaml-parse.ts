// The agent's only import of the yaml library. It is static on purpose: config.ts loads this
// module lazily with import(), and a dynamic import('yaml') would make esbuild keep every
// export of the library (stringify, CST, visit…) instead of just the parser.
export { parseDocument } from 'yaml';
