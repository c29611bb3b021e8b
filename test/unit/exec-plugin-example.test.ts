// The example exec plugin (tools/exec-plugin/serviceaccount-token.js) refuses bad input before it
// touches the network, naming the field; what a ClusterProfile author chooses is checked against the
// operator's allowlist. Its TokenRequest against a real API server is covered by e2e-sveltos.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../../tools/stack/paths.js';

const PLUGIN = join(repoRoot, 'tools', 'exec-plugin', 'serviceaccount-token.js');

function runPlugin(config: unknown, env: Record<string, string> = {}, apiVersion = 'client.authentication.k8s.io/v1'): { code: number | null; stdout: string; stderr: string } {
  const info = { apiVersion, kind: 'ExecCredential', spec: { interactive: false, cluster: { server: 'https://127.0.0.1:1', config } } };
  const r = spawnSync(process.execPath, [PLUGIN], {
    env: { PATH: process.env.PATH ?? '', KUBERNETES_EXEC_INFO: JSON.stringify(info), TOKEN_MINTER_TOKEN_FILE: '/nonexistent', ALLOWED_SERVICE_ACCOUNTS: 'sveltos-access/sveltos', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('example exec plugin: input checks', () => {
  test('an account outside ALLOWED_SERVICE_ACCOUNTS is refused', () => {
    const r = runPlugin({ serviceAccount: 'kube-system/admin' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /serviceAccount: kube-system\/admin is not in ALLOWED_SERVICE_ACCOUNTS/);
    assert.equal(r.stdout, '');
  });

  test('serviceAccount must be NAMESPACE/NAME', () => {
    for (const sa of ['sveltos', 'a/b/c', 'A/b', 42]) assert.match(runPlugin({ serviceAccount: sa }).stderr, /field serviceAccount: expected "NAMESPACE\/NAME"/, String(sa));
  });

  test('expirationSeconds: an integer from the TokenRequest minimum (600) to a day', () => {
    for (const s of [599, 86_401, 600.5, '600']) assert.match(runPlugin({ serviceAccount: 'sveltos-access/sveltos', expirationSeconds: s }).stderr, /field expirationSeconds: expected an integer from 600 to 86400/, String(s));
  });

  test('without provideClusterInfo, or in an unknown apiVersion, it says what to configure', () => {
    const r = spawnSync(process.execPath, [PLUGIN], { env: { PATH: process.env.PATH ?? '', KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', spec: {} }) }, encoding: 'utf8' });
    assert.match(r.stderr, /set provideClusterInfo: true in the provider file/);
    assert.match(runPlugin({}, {}, 'client.authentication.k8s.io/v2').stderr, /unsupported apiVersion/);
  });

  test('an allowed account gets as far as the minter token file', () => {
    const r = runPlugin({ serviceAccount: 'sveltos-access/sveltos', expirationSeconds: 600 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ENOENT.*\/nonexistent/);
  });
});
