// Trust survives registration (SPEC §6): the reference server hands out a registration config
// without caCert unless its default CA is configured. A host that registered over HTTPS keeps
// the trust it registered with (caCert inline or as a file, useSystemCertPool, or
// insecureSkipTlsVerify), writes it into the new config, and its next `run` reaches the server.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync, writeFileSync } from 'node:fs';
import { testPki } from '../support/certs';
import { startTinyproxy, tinyproxyTest } from '../support/tinyproxy';
import { CA_PATH, CONFIG_PATH, type Journey, WORK_DIR, journey, onlyHost } from '../support/lifecycle';

const TRUST_LINE = /INFO  the registration's config sets no TLS trust \(registration\.caCert, agent\.useSystemCertPool, agent\.insecureSkipTlsVerify\): keeping this host's (\S+)\n/;

interface Case {
  label: string;
  /** Trust lines of the starting config (under `registration:` and `agent:`). */
  registrationYaml: (j: Journey) => string;
  agentYaml: string;
  /** The kept setting, as written in the new config. */
  written: (j: Journey) => string;
  kept: string;
  env?: Record<string, string>;
  proxy?: boolean;
}

const indent = (pem: string, spaces: number) => pem.trimEnd().split('\n').map((l) => `${' '.repeat(spaces)}${l}`).join('\n');

const CASES: Case[] = [
  {
    label: 'caCert inline',
    registrationYaml: (j) => `  caCert: |\n${indent(j.api.caCertPem!, 4)}\n`,
    agentYaml: '',
    written: (j) => `    caCert: |\n${indent(j.api.caCertPem!, 8)}\n`,
    kept: 'registration.caCert',
  },
  {
    label: 'caCert as a file under --root',
    registrationYaml: () => `  caCert: ${CA_PATH}\n`,
    agentYaml: '',
    written: () => `    caCert: ${CA_PATH}\n`,
    kept: 'registration.caCert',
  },
  {
    label: 'useSystemCertPool with SSL_CERT_FILE',
    registrationYaml: () => '',
    agentYaml: '  useSystemCertPool: true\n',
    written: () => '    useSystemCertPool: true\n',
    kept: 'agent.useSystemCertPool',
    env: { SSL_CERT_FILE: testPki().caCertPath },
  },
  {
    label: 'insecureSkipTlsVerify',
    registrationYaml: () => '',
    agentYaml: '  insecureSkipTlsVerify: true\n',
    written: () => '    insecureSkipTlsVerify: true\n',
    kept: 'agent.insecureSkipTlsVerify',
  },
  {
    label: 'caCert file, through tinyproxy with proxy credentials',
    registrationYaml: () => `  caCert: ${CA_PATH}\n`,
    agentYaml: '',
    written: () => `    caCert: ${CA_PATH}\n`,
    kept: 'registration.caCert',
    proxy: true,
  },
];

for (const c of CASES) {
  const define = c.proxy ? (name: string, fn: () => Promise<void>) => tinyproxyTest(test, name, fn) : test;
  define(`HTTPS, a registration config without trust settings: ${c.label}: register exits 0, run reconciles`, async () => {
    const j = await journey({ https: true, registration: { registration: { caCert: undefined } } });
    // A real proxy tunnels to the host and port asked for (the stand-in) and nothing else.
    const proxy = c.proxy ? await startTinyproxy({ connectPorts: [j.api.port], basicAuth: { user: 'agent', password: 'proxy-pass-1' } }) : undefined;
    try {
      assert.is(j.reg.response().config?.elemental?.registration?.caCert, undefined, 'the server hands out no caCert');
      writeFileSync(
        j.path(CONFIG_PATH),
        `registration:\n  uri: ${j.reg.uri}\n  token: ${j.imageToken}\n${c.registrationYaml(j)}agent:\n  reconciliation: 100ms\n${c.agentYaml}`,
      );
      if (c.label === 'caCert inline' || !c.registrationYaml(j)) rmSync(j.path(CA_PATH));
      const env = { ...c.env, ...(proxy ? { HTTPS_PROXY: `http://agent:proxy-pass-1@127.0.0.1:${proxy.port}` } : {}) };
      const r = await j.run(['register'], { env, timeoutMs: 15_000 });
      assert.is(r.code, 0, r.stderr.slice(-2000));
      assert.is(TRUST_LINE.exec(r.stderr)?.[1], c.kept, r.stderr);
      assert.is(r.stderr.match(new RegExp(TRUST_LINE.source, 'g'))?.length, 1, 'one INFO line');
      const name = onlyHost(j).name;
      const config = `registration:\n    uri: ${j.reg.uri}\n${c.registrationYaml(j) ? c.written(j) : ''}    token: ${j.reg.token}\nagent:\n    workDir: ${WORK_DIR}\n    hostname:\n        prefix: m-\n    reconciliation: 100ms\n${c.registrationYaml(j) ? '' : c.written(j)}`;
      assert.is(j.read(CONFIG_PATH), config);
      assert.is(j.read(`${WORK_DIR}/config.yaml`), config);
      assert.is(j.api.host(j.reg, name)?.conditions.find((x) => x.type === 'RegistrationReady')?.status, 'True');

      // The next command trusts the server with the written config.
      const run = j.start(['run'], { env, timeoutMs: 15_000 });
      await j.api.waitFor(() => {
        const host = j.api.host(j.reg, name);
        return host?.phase === 'Running' && host.conditions.some((x) => x.type === 'OSVersionReady' && x.status === 'True');
      }, 10_000).catch(() => undefined);
      run.child.kill('SIGTERM');
      const ran = await run.result;
      assert.is(ran.code, 143, ran.stderr.slice(-2000));
      assert.is(j.api.host(j.reg, name)?.phase, 'Running', ran.stderr.slice(-2000));
      assert.not.match(ran.stderr, /TLS handshake/);
      if (proxy) {
        const requests = proxy.requests();
        assert.ok(requests.length >= 2, 'both commands went through the proxy');
        assert.ok(requests.every((line) => line === `CONNECT ${new URL(j.reg.uri).host} HTTP/1.1`), JSON.stringify(requests));
        assert.ok(j.api.requests.length <= requests.length, `every API request came through a tunnel: ${j.api.requests.length} requests, ${requests.length} tunnels`);
        assert.not.ok(`${r.stderr}${ran.stderr}`.includes('proxy-pass-1'), 'no proxy password in the output');
      }
    } finally {
      await proxy?.close();
      await j.close();
    }
  });
}

test('a registration config that sets its own trust wins: nothing is kept, no INFO line', async () => {
  // The stand-in hands out its CA inline (as the reference does with a default CA configured).
  const j = await journey({ https: true, startingAgentYaml: '  useSystemCertPool: true\n' });
  try {
    const r = await j.run(['register'], { env: { SSL_CERT_FILE: testPki().caCertPath }, timeoutMs: 15_000 });
    assert.is(r.code, 0, r.stderr.slice(-2000));
    assert.not.match(r.stderr, /sets no TLS trust/);
    const written = j.read(CONFIG_PATH);
    assert.ok(written.includes('    caCert: |\n'));
    assert.not.ok(written.includes('useSystemCertPool'), 'the server config is not merged with the local one');
  } finally {
    await j.close();
  }
});

test.run();
