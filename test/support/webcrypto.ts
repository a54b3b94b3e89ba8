// jose (the tests' independent JWT implementation) uses the WebCrypto global, which Node 18
// only has behind --experimental-global-webcrypto. Imported for its effect by whoever uses jose.
import { webcrypto } from 'node:crypto';

if (!globalThis.crypto) Object.defineProperty(globalThis, 'crypto', { value: webcrypto, configurable: true, writable: true });
