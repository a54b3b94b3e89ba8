// Port of the reference's internal/agent/client/client_test.go ("Elemental API Client Init"):
// the same configurations, the same CA certificate bytes. The reference checks its errors with
// MatchError(ErrInvalidScheme), i.e. the text "invalid scheme, use 'https' instead" somewhere
// in the chain; ours is one line that contains that text and names the URI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ElementalClient, type ApiClientOptions } from '../../src/api/client';
import { AgentError } from '../../src/errors';
import { Identity } from '../../src/identity';

const identity = Identity.generate();

const conf = {
  uri: 'https://localhost:9090/just/for/testing',
  caCert: `-----BEGIN CERTIFICATE-----
MIIBvDCCAWOgAwIBAgIBADAKBggqhkjOPQQDAjBGMRwwGgYDVQQKExNkeW5hbWlj
bGlzdGVuZXItb3JnMSYwJAYDVQQDDB1keW5hbWljbGlzdGVuZXItY2FAMTY5NzEy
NjgwNTAeFw0yMzEwMTIxNjA2NDVaFw0zMzEwMDkxNjA2NDVaMEYxHDAaBgNVBAoT
E2R5bmFtaWNsaXN0ZW5lci1vcmcxJjAkBgNVBAMMHWR5bmFtaWNsaXN0ZW5lci1j
YUAxNjk3MTI2ODA1MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9KvZXqQ7+hN/
4T0LVsFogfENa7UeSI3egvhg54qA6kI4ROQj0sObkbuBbepgGEcaOw8eJW0+M4o3
+SnprKYPkqNCMEAwDgYDVR0PAQH/BAQDAgKkMA8GA1UdEwEB/wQFMAMBAf8wHQYD
VR0OBBYEFD8W3gE6pK1EjnBM/kPaQF3Uqkc1MAoGCCqGSM49BAMCA0cAMEQCIDxz
wcHkvD3kEU33TR9VnkHUwgC9jDyDa62sef84S5MUAiAJfWf5G5PqtN+AE4XJgg2K
+ETPIs22tcmXyYOG0WY7KQ==
-----END CERTIFICATE-----`,
};

/** Client.Init with the test's config; nothing is sent (construction only). */
function init(o: Partial<ApiClientOptions> = {}): ElementalClient {
  return new ElementalClient({ uri: conf.uri, caCert: conf.caCert, identity, env: {}, ...o });
}

function initError(o: Partial<ApiClientOptions>): AgentError {
  try {
    init(o);
  } catch (err) {
    assert.instance(err, AgentError);
    assert.not.match((err as Error).message, /\n/, 'one line');
    return err as AgentError;
  }
  return assert.unreachable('expected Init to fail') as never;
}

test('Elemental API Client Init: should succeed on valid config', () => {
  const client = init();
  assert.is(client.uri, conf.uri);
});

test('Elemental API Client Init: should fail on http insecure protocol', () => {
  const uri = 'http://localhost:9090/just/for/testing';
  assert.match(initError({ uri }).message, "invalid scheme, use 'https' instead");
  // Allow insecure http
  assert.is(init({ uri, insecureAllowHttp: true }).uri, uri);
});

test('Elemental API Client Init: should fail on badly formatted CACert', () => {
  // Neither PEM nor an absolute path: fatal at start, as in the reference.
  assert.match(initError({ caCert: 'not a parsable cert' }).message, /registration\.caCert "not a parsable cert" is neither a PEM certificate nor an absolute path/);
});

test('Elemental API Client Init: should fail on badly formatted URI', () => {
  // Go's url.Parse takes this as a path and fails on its empty scheme; ours fails on the URL.
  assert.match(initError({ uri: 'not a parsable URL' }).message, /registration uri 'not a parsable URL' is not a valid URL/);
});

test('Elemental API Client Init: should fail on unknown protocol', () => {
  const uri = 'unknown://localhost:9090/just/for/testing';
  assert.is(initError({ uri }).message, `registration uri '${uri}': invalid scheme, use 'https' instead`);
  // Verify behavior when http allowed
  assert.is(initError({ uri, insecureAllowHttp: true }).message, `registration uri '${uri}': invalid scheme, use 'https' instead`);
});

test.run();
