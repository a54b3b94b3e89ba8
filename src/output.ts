// What the commands print, and the log lines: write(2) on fd 1 and 2 rather than process.stdout
// and process.stderr. Creating those streams is a large part of a short command's own start-up
// (node 24: 6 ms of `version`; Bun: more than its whole runtime start), and on Linux they write
// synchronously to files, pipes and terminals anyway: the bytes and their order are the same.
import { writeSync } from 'node:fs';

type Fd = 1 | 2;

/** For sleeping without a timer: Atomics.wait on a value nobody changes. */
const nap = new Int32Array(new SharedArrayBuffer(4));
const LONGEST_NAP_MS = 50;

export function writeStdout(text: string): void {
  writeFd(1, text);
}

export function writeStderr(text: string): void {
  writeFd(2, text);
}

function writeFd(fd: Fd, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let offset = 0;
  let napMs = 1;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
      napMs = 1;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        // Someone handed us a non-blocking fd and its reader is behind: wait for room as a
        // blocking write would (the streams lose the output at exit, or throw, here).
        Atomics.wait(nap, 0, 0, napMs);
        napMs = Math.min(napMs * 2, LONGEST_NAP_MS);
        continue;
      }
      // The reader is gone (`| head -1`) or there is no fd at all (started with `>&-`): the
      // output has nowhere to go, and the command's work and exit code do not depend on it.
      if (code === 'EPIPE' || code === 'EBADF') return;
      throw err;
    }
  }
}
