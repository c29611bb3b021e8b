// The spoke: a second, independent kube-apiserver (own CA, port and data; the same kubetestenv
// binary) that stands for a managed cluster. The hub's ClusterProfiles point at it, and Sveltos
// deploys add-ons into it. On it lives the identity Sveltos is given: a ServiceAccount bound to
// cluster-admin (Sveltos deploys arbitrary add-ons), whose short-lived tokens the example exec plugin
// (tools/exec-plugin/serviceaccount-token.js) mints with the TokenRequest API.
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions } from '@kubernetes/client-node';
import { stackDir } from './paths.js';

export const spokeDir = join(stackDir, 'spoke');
export const spokeKubeconfig = join(spokeDir, 'kubeconfig');
/** The spoke's admin token: the demo's plugin uses it to mint tokens (a real setup would use a narrower identity). */
export const spokeAdminTokenFile = join(spokeDir, 'admin.token');

export const SPOKE_SERVICE_ACCOUNT = { namespace: 'sveltos-access', name: 'sveltos' } as const;
const FIELD_MANAGER = 'clusterinventory-stack';

/** Idempotent: applies the namespace, the ServiceAccount and its cluster-admin binding. */
export async function setUpSpokeIdentity(kubeconfigPath: string = spokeKubeconfig): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  const { namespace, name } = SPOKE_SERVICE_ACCOUNT;
  const common = { fieldManager: FIELD_MANAGER, force: true };
  await core.patchNamespace({ name: namespace, body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, ...common }, apply);
  await core.patchNamespacedServiceAccount(
    { name, namespace, body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } }, ...common },
    apply,
  );
  const binding = `${namespace}-${name}-cluster-admin`;
  await rbac.patchClusterRoleBinding(
    {
      name: binding,
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: binding },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
      ...common,
    },
    apply,
  );
}
