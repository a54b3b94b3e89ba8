// Preloaded into the agent by the bench (node --require): records peak RSS (KiB) at exit.
process.on('exit', () => {
  if (process.env.BENCH_MAXRSS_FILE) require('fs').writeFileSync(process.env.BENCH_MAXRSS_FILE, String(process.resourceUsage().maxRSS));
});
