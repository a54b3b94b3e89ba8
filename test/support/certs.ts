// Test PKI generated at test time with the openssl command (nothing long-lived is committed):
// a CA, a server certificate for 127.0.0.1/localhost signed by it, and a second, unrelated CA
// for "wrong CA" cases. Generated once per process and cached.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp';

export interface TestPki {
  dir: string;
  caCertPem: string;
  caCertPath: string;
  serverCertPem: string;
  serverKeyPem: string;
  otherCaCertPem: string;
  otherCaCertPath: string;
}

let cached: TestPki | undefined;

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
}

export function testPki(): TestPki {
  if (cached) return cached;
  const dir = tempDir('elemental-pki-');
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'], dir);
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  cached = {
    dir,
    caCertPem: read('ca.crt'),
    caCertPath: join(dir, 'ca.crt'),
    serverCertPem: read('server.crt'),
    serverKeyPem: read('server.key'),
    otherCaCertPem: read('other-ca.crt'),
    otherCaCertPath: join(dir, 'other-ca.crt'),
  };
  return cached;
}
