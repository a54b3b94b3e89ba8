// Preloaded into the agent by the bench (node --require):
// - at exit, writes the peak RSS (KiB) to $BENCH_MAXRSS_FILE;
// - with --expose-gc, on SIGUSR2 runs a full GC and writes process.memoryUsage() as JSON to
//   $BENCH_HEAP_FILE: the heap that survives a GC is the leak signal (RSS also grows while
//   V8 and malloc size their pools).
const fs = require('fs');
process.on('exit', () => {
  if (process.env.BENCH_MAXRSS_FILE) fs.writeFileSync(process.env.BENCH_MAXRSS_FILE, String(process.resourceUsage().maxRSS));
});
if (process.env.BENCH_HEAP_FILE && typeof global.gc === 'function') {
  process.on('SIGUSR2', () => {
    global.gc();
    fs.writeFileSync(process.env.BENCH_HEAP_FILE, JSON.stringify(process.memoryUsage()));
  });
}
