// The stack's spoke is a second, independent cluster (own CA, port, identities), and the example exec
// plugin mints real, expiring ServiceAccount tokens on it that the spoke accepts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { AuthenticationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { repoRoot } from '../../tools/stack/paths.js';
import { kubeConfig, stackEnv } from '../support/stack.js';

function spoke(): KubeConfig {
  stackEnv();
  if (!process.env.SPOKE_KUBECONFIG) throw new Error('.stack/env does not export SPOKE_KUBECONFIG: run `npm run stack -- up`');
  const kc = new KubeConfig();
  kc.loadFromFile(process.env.SPOKE_KUBECONFIG);
  return kc;
}

function withToken(kc: KubeConfig, token: string): KubeConfig {
  const cluster = kc.getCurrentCluster()!;
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: [{ name: 'c', server: cluster.server, caData: cluster.caData }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return out;
}

describe('the spoke cluster and the example plugin', () => {
  const hub = kubeConfig();
  const sp = spoke();
  const [saNamespace, saName] = process.env.SPOKE_SERVICE_ACCOUNT!.split('/') as [string, string];

  test('is independent of the hub: another port and CA, and the hub admin token is not accepted', async () => {
    assert.notEqual(sp.getCurrentCluster()!.server, hub.getCurrentCluster()!.server);
    assert.notEqual(sp.getCurrentCluster()!.caData, hub.getCurrentCluster()!.caData);
    const hubToken = hub.getCurrentUser()!.token!;
    await assert.rejects(withToken(sp, hubToken).makeApiClient(CoreV1Api).listNamespace(), (e: unknown) => (e as { code?: number }).code === 401);
  });

  test('has the ServiceAccount Sveltos uses, bound to cluster-admin', async () => {
    await sp.makeApiClient(CoreV1Api).readNamespacedServiceAccount({ namespace: saNamespace, name: saName });
    const bindings = await sp.makeApiClient(RbacAuthorizationV1Api).listClusterRoleBinding();
    assert.ok(
      bindings.items.some((b) => b.roleRef.name === 'cluster-admin' && b.subjects?.some((s) => s.kind === 'ServiceAccount' && s.namespace === saNamespace && s.name === saName)),
    );
  });

  test('the example plugin mints a 10-minute token with its real expiry, and the spoke accepts it as the ServiceAccount', async () => {
    const cluster = sp.getCurrentCluster()!;
    const info = {
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: { interactive: false, cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData, config: { serviceAccount: `${saNamespace}/${saName}`, expirationSeconds: 600 } } },
    };
    const before = Date.now();
    const r = spawnSync(process.execPath, [`${repoRoot}/tools/exec-plugin/serviceaccount-token.js`], {
      env: { PATH: process.env.PATH ?? '', KUBERNETES_EXEC_INFO: JSON.stringify(info), TOKEN_MINTER_TOKEN_FILE: process.env.SPOKE_TOKEN_MINTER_FILE!, ALLOWED_SERVICE_ACCOUNTS: `${saNamespace}/${saName}` },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const cred = JSON.parse(r.stdout) as { apiVersion: string; kind: string; status: { token: string; expirationTimestamp: string } };
    assert.equal(cred.apiVersion, 'client.authentication.k8s.io/v1');
    assert.equal(cred.kind, 'ExecCredential');
    const expiry = Date.parse(cred.status.expirationTimestamp);
    assert.ok(expiry >= before + 599_000 - 1_000 && expiry <= Date.now() + 600_000 + 1_000, `expiry ${cred.status.expirationTimestamp}`);
    const review = await withToken(sp, cred.status.token).makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    assert.equal(review.status?.userInfo?.username, `system:serviceaccount:${saNamespace}:${saName}`);
    assert.ok(!r.stderr.includes(cred.status.token));
  });
});
