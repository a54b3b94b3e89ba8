// A full garbage collection on demand, for the one place that needs it (big response bodies,
// see transport.ts). Node offers no API for it: the V8 flag --expose-gc, set at run time,
// makes `gc` visible in contexts created afterwards, and a throwaway vm context hands it over.
// When that is not possible, collectGarbage() does nothing: memory is then just higher.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

export function collectGarbage(): void {
  if (gc === undefined) {
    gc = null;
    try {
      const global = (globalThis as { gc?: unknown }).gc;
      if (typeof global === 'function') gc = global as () => void;
      else {
        setFlagsFromString('--expose-gc');
        const exposed: unknown = runInNewContext('gc');
        if (typeof exposed === 'function') gc = exposed as () => void;
      }
    } catch {
      /* stays null */
    }
  }
  gc?.();
}
