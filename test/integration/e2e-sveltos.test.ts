// End to end, ending in Sveltos: the real app writes the Secret and SveltosCluster for ClusterProfiles
// that point at the stack's spoke cluster; the real Sveltos addon-controller v1.13.0 and the readiness
// checker (libsveltos' clusterproxy code, the stand-in for sveltoscluster-manager) use them. Follows
// the Go controller's functional tests: both credential paths reach `ready` with the spoke's version,
// labels propagate, an add-on arrives in the spoke through our Secret (also after a forced refresh),
// a rejected credential is Sveltos's failure, and deletion removes our objects and Sveltos's
// ClusterSummary. Needs `npm run stack -- up --for-tests`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { CustomObjectsApi} from '@kubernetes/client-node';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, VersionApi } from '@kubernetes/client-node';
import { runRefresh } from '../../cli/refresh.js';
import { runStatus } from '../../cli/status.js';
import { DISPLAY_NAME_ANNOTATION, SVELTOS_K8S_VERSION_LABEL, type AccessProvider, type SveltosCluster } from '../../activities/kube/types.js';
import { SVELTOS_PROBE_LABEL } from '../../tools/stack/sveltos.js';
import { runCli } from '../support/cli-io.js';
import { E2E, isNotFound, secretReaderProvider } from '../support/e2e.js';
import { eventually, stackEnv, uniqueName } from '../support/stack.js';

const READY_MS = 90_000;
const EXEC_PROVIDER = 'spoke-serviceaccount-token';
const PLUGIN = new URL('../../tools/exec-plugin/serviceaccount-token.js', import.meta.url).pathname;
const SVELTOS_CP = { group: 'config.projectsveltos.io', version: 'v1beta1', plural: 'clusterprofiles' };
const CLUSTER_SUMMARIES = { group: 'config.projectsveltos.io', version: 'v1beta1', plural: 'clustersummaries' };

interface Spoke {
  kubeconfigPath: string;
  kc: KubeConfig;
  server: string;
  caData: string;
  serviceAccount: string;
  minterTokenFile: string;
}

/** The spoke and Sveltos from `.stack/env`: missing means the test stack is not up, a failure, never a skip. */
function spokeFromEnv(): Spoke {
  stackEnv();
  for (const k of ['SPOKE_KUBECONFIG', 'SPOKE_TOKEN_MINTER_FILE', 'SPOKE_SERVICE_ACCOUNT', 'SVELTOS_NAMESPACE']) {
    if (!process.env[k]) throw new Error(`.stack/env does not export ${k}: run \`npm run stack -- up --for-tests\` (it starts the spoke and Sveltos)`);
  }
  const kc = new KubeConfig();
  kc.loadFromFile(process.env.SPOKE_KUBECONFIG!);
  const cluster = kc.getCurrentCluster()!;
  return {
    kubeconfigPath: process.env.SPOKE_KUBECONFIG!,
    kc,
    server: cluster.server,
    caData: cluster.caData!,
    serviceAccount: process.env.SPOKE_SERVICE_ACCOUNT!,
    minterTokenFile: process.env.SPOKE_TOKEN_MINTER_FILE!,
  };
}

function execProvider(spoke: Spoke, serviceAccount = spoke.serviceAccount): AccessProvider {
  return {
    name: EXEC_PROVIDER,
    cluster: {
      server: spoke.server,
      'certificate-authority-data': spoke.caData,
      extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { serviceAccount, expirationSeconds: 600 } }],
    },
  };
}

/** A kubeconfig for the spoke (its server and CA) with the given bearer token. */
function spokeKubeconfigWithToken(spoke: Spoke, token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'spoke', cluster: { server: spoke.server, 'certificate-authority-data': spoke.caData } }],
    users: [{ name: 'u', user: { token } }],
    contexts: [{ name: 'c', context: { cluster: 'spoke', user: 'u' } }],
    'current-context': 'c',
  });
}

describe('Sveltos uses what we write (real addon-controller, spoke cluster)', { timeout: 15 * 60_000 }, () => {
  const spoke = spokeFromEnv();
  const e2e = new E2E();
  const spokeCore = spoke.kc.makeApiClient(CoreV1Api);
  let hubCustom: CustomObjectsApi;
  let spokeVersion: string;
  const selector = uniqueName('sveltos-e2e');
  const sveltosProfile = uniqueName('deliver');
  const addonName = uniqueName('addon');
  const addonSource = `${addonName}-source`;
  const execName = uniqueName('exec');
  const readerName = uniqueName('reader');

  before(async () => {
    await e2e.start({
      providers: {
        providers: [
          {
            name: EXEC_PROVIDER,
            execConfig: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: process.execPath,
              args: [PLUGIN],
              env: [
                { name: 'TOKEN_MINTER_TOKEN_FILE', value: spoke.minterTokenFile },
                { name: 'ALLOWED_SERVICE_ACCOUNTS', value: spoke.serviceAccount },
              ],
              provideClusterInfo: true,
            },
          },
        ],
      },
    });
    hubCustom = e2e.custom;
    // The readiness stand-in probes only namespaces that ask for it.
    await e2e.core.patchNamespace({ name: e2e.namespace, body: { metadata: { labels: { [SVELTOS_PROBE_LABEL]: 'true' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    spokeVersion = (await spoke.kc.makeApiClient(VersionApi).getCode()).gitVersion;
  });

  after(async () => {
    await hubCustom?.deleteClusterCustomObject({ ...SVELTOS_CP, name: sveltosProfile }).catch(() => undefined);
    await e2e.core.deleteNamespacedConfigMap({ namespace: e2e.namespace, name: addonSource }).catch(() => undefined);
    await spokeCore.deleteNamespacedConfigMap({ namespace: 'default', name: addonName }).catch(() => undefined);
    for (const name of [execName, readerName]) await e2e.deleteProfile(name).catch(() => undefined);
    for (const name of [execName, readerName]) await e2e.waitForGone(name).catch(() => undefined);
    await e2e.stop();
    await e2e.core.deleteNamespace({ name: e2e.namespace }).catch(() => undefined);
  });

  const readySveltosCluster = (name: string): Promise<SveltosCluster & { status: { ready: boolean; version: string } }> =>
    eventually(
      `SveltosCluster ${e2e.namespace}/${name} ready`,
      async () => {
        const sc = (await e2e.getSveltosCluster(name));
        return sc?.status?.ready === true ? (sc as SveltosCluster & { status: { ready: boolean; version: string } }) : undefined;
      },
      READY_MS,
    );

  test('the built-in secret reader: Sveltos reaches the spoke through our Secret (ready, the spoke version)', async () => {
    await e2e.createSecret(`${readerName}-source`, { value: readFileSync(spoke.kubeconfigPath, 'utf8') });
    await e2e.createProfile(readerName, [secretReaderProvider(`${readerName}-source`, 'value')]);
    const sc = await readySveltosCluster(readerName);
    assert.equal(sc.status.version, spokeVersion);
  });

  test('the exec plugin: a real, expiring ServiceAccount token the spoke accepts; labels and display name propagate, Sveltos labels stay', async () => {
    const profile = await e2e.createProfile(execName, [execProvider(spoke)], { labels: { 'sveltos-e2e': selector, team: 'a' }, displayName: 'Exec spoke' });
    const sc = await readySveltosCluster(execName);
    assert.equal(sc.status.version, spokeVersion);
    assert.equal(sc.metadata.labels?.['sveltos-e2e'], selector);
    assert.equal(sc.metadata.annotations?.[DISPLAY_NAME_ANNOTATION], 'Exec spoke');
    const versionLabel = await eventually('label projectsveltos.io/k8s-version', async () => (await e2e.getSveltosCluster(execName))?.metadata.labels?.[SVELTOS_K8S_VERSION_LABEL], READY_MS);
    assert.equal(versionLabel, spokeVersion.replace(/[-+].*$/, ''));

    // The token in our Secret is a ServiceAccount token with the TokenRequest's real expiry; we refresh at 80%.
    const status = await e2e.waitForPhase(profile, 'Ready');
    const now = Date.now();
    assert.ok(status.credentialExpiresAtMs! > now + 8 * 60_000 && status.credentialExpiresAtMs! <= now + 10 * 60_000 + 5_000, `expiry ${status.credentialExpiresAtMs}`);
    const lifetime = status.credentialExpiresAtMs! - status.lastSyncAtMs!;
    assert.ok(Math.abs(status.nextRefreshAtMs! - (status.lastSyncAtMs! + 0.8 * lifetime)) < 15_000, 'refresh at 80% of the lifetime');
    const kubeconfig = e2e.managedKubeconfig(await e2e.getSecret(`${execName}-sveltos-kubeconfig`))!;
    const managed = new KubeConfig();
    managed.loadFromString(kubeconfig);
    const review = (await managed.makeApiClient(CoreV1Api).listNamespacedServiceAccount({ namespace: spoke.serviceAccount.split('/')[0]! })).items.map((s) => s.metadata?.name);
    assert.ok(review.includes(spoke.serviceAccount.split('/')[1]), 'the written credential works on the spoke');
    const token = managed.getCurrentUser()?.token;
    assert.ok(token && token.length > 100, 'a ServiceAccount JWT');
    assert.equal(e2e.logs.filter((l) => l.includes(token)).length, 0, 'the minted token is in no log line');

    // A label change on the ClusterProfile reaches the SveltosCluster; Sveltos's own label stays.
    await e2e.patchProfile(execName, { metadata: { labels: { team: 'b' } } });
    const relabelled = await eventually('relabelled SveltosCluster', async () => {
      const got = await e2e.getSveltosCluster(execName);
      return got?.metadata.labels?.team === 'b' ? got : undefined;
    });
    assert.equal(relabelled.metadata.labels?.[SVELTOS_K8S_VERSION_LABEL], versionLabel);
    assert.equal(relabelled.metadata.labels?.['sveltos-e2e'], selector);
  });

  const spokeAddon = (value: string): Promise<unknown> =>
    eventually(
      `ConfigMap default/${addonName} with value ${value} in the spoke`,
      async () => {
        const cm = await spokeCore.readNamespacedConfigMap({ namespace: 'default', name: addonName }).catch((e: unknown) => {
          if (isNotFound(e)) return undefined;
          throw e;
        });
        return cm?.data?.value === value ? cm : undefined;
      },
      READY_MS,
    );

  const setAddonSource = async (value: string): Promise<void> => {
    const manifest = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${addonName}\n  namespace: default\ndata:\n  value: ${value}\n`;
    await e2e.core.patchNamespacedConfigMap(
      {
        namespace: e2e.namespace,
        name: addonSource,
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: addonSource, namespace: e2e.namespace }, data: { 'addon.yaml': manifest } },
        fieldManager: 'e2e-sveltos',
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  };

  test("a Sveltos ClusterProfile selecting the cluster's labels delivers an add-on into the spoke through our Secret", async () => {
    await setAddonSource('v1');
    await hubCustom.createClusterCustomObject({
      ...SVELTOS_CP,
      body: {
        apiVersion: 'config.projectsveltos.io/v1beta1',
        kind: 'ClusterProfile',
        metadata: { name: sveltosProfile },
        spec: {
          clusterSelector: { matchLabels: { 'sveltos-e2e': selector } },
          syncMode: 'Continuous',
          policyRefs: [{ kind: 'ConfigMap', namespace: e2e.namespace, name: addonSource }],
        },
      },
    });
    await spokeAddon('v1');
  });

  test('after a forced refresh (a new token), an update to the add-on still arrives', async () => {
    const before = e2e.managedKubeconfig(await e2e.getSecret(`${execName}-sveltos-kubeconfig`));
    const refresh = await runCli(runRefresh, [`${e2e.namespace}/${execName}`, '--task-queue', e2e.taskQueue], 'http://ui');
    assert.equal(refresh.code, 0, refresh.err);
    const afterRefresh = e2e.managedKubeconfig(await e2e.getSecret(`${execName}-sveltos-kubeconfig`));
    assert.notEqual(afterRefresh, before, 'the refresh wrote a new token');
    await setAddonSource('v2');
    await spokeAddon('v2');
  });

  test("a credential the spoke rejects is Sveltos's failure, and `clusterinventory status` shows it", async () => {
    const rejected = uniqueName('rejected');
    await e2e.createSecret(`${rejected}-source`, { value: spokeKubeconfigWithToken(spoke, 'not-a-valid-token') });
    await e2e.createProfile(rejected, [secretReaderProvider(`${rejected}-source`, 'value')]);
    const failed = await eventually(
      `SveltosCluster ${rejected} failing`,
      async () => {
        const sc = (await e2e.getSveltosCluster(rejected));
        return sc?.status?.failureMessage && (sc.status.connectionFailures ?? 0) >= 1 ? sc.status : undefined;
      },
      READY_MS,
    );
    assert.notEqual(failed.ready, true);
    assert.match(failed.failureMessage!, /Unauthorized|provide credentials/i);
    const shown = await runCli(runStatus, [`${e2e.namespace}/${rejected}`, '--task-queue', e2e.taskQueue], 'http://ui');
    assert.match(shown.out, /^Phase:\s+Ready$/m, 'our side wrote the credential');
    assert.match(shown.out, /^Sveltos:\s+not ready$/m);
    assert.match(shown.out, /^Sveltos failure:\s+.*(Unauthorized|provide credentials)/im);
    await e2e.deleteProfile(rejected);
    await e2e.waitForGone(rejected);
  });

  test("deleting the ClusterProfile removes our objects and Sveltos's ClusterSummary", async () => {
    const summaries = async (): Promise<unknown[]> =>
      (
        (await hubCustom.listNamespacedCustomObject({ ...CLUSTER_SUMMARIES, namespace: e2e.namespace, labelSelector: `projectsveltos.io/cluster-name=${execName}` })) as {
          items: unknown[];
        }
      ).items;
    assert.ok((await summaries()).length >= 1, 'Sveltos made a ClusterSummary for the cluster');
    await e2e.deleteProfile(execName);
    await e2e.waitForGone(execName);
    await eventually('ClusterSummary removed', async () => ((await summaries()).length === 0 ? true : undefined), READY_MS);
  });
});
