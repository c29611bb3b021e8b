// `npm start`: the main job on the local default. Brings the local stack up, applies an example
// ClusterProfile `demo/spoke-1` (with the source Secret its kubeconfig-secretreader provider points
// at), and runs `clusterinventory run` against it until Ctrl-C.
// `npm start -- --exit-when-ready` stops once the example's SveltosCluster exists (used by a test).
import { readFile } from 'node:fs/promises';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startApp } from '../cli/app.js';
import { parseConfig, type AppConfig } from '../worker/config.js';
import { CLUSTER_PROFILE, SVELTOS_CLUSTER, secretNameFor } from '../activities/kube/types.js';
import { up } from './stack/stack.js';
import { envFile } from './stack/paths.js';

const NAMESPACE = 'demo';
const NAME = 'spoke-1';
const SOURCE_SECRET = 'spoke-1-admin-kubeconfig';
const FIELD_MANAGER = 'clusterinventory-demo';

function loadEnvFile(text: string): void {
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]!] = m[2]!;
  }
}

/** The example "spoke" is the local API server itself, reached with its admin kubeconfig. */
async function applyExample(kc: KubeConfig, kubeconfigText: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  await core.patchNamespace(
    { name: NAMESPACE, body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }, fieldManager: FIELD_MANAGER, force: true },
    apply,
  );
  await core.patchNamespacedSecret(
    {
      name: SOURCE_SECRET,
      namespace: NAMESPACE,
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: SOURCE_SECRET, namespace: NAMESPACE }, stringData: { value: kubeconfigText } },
      fieldManager: FIELD_MANAGER,
      force: true,
    },
    apply,
  );
  const cp = { group: CLUSTER_PROFILE.group, version: CLUSTER_PROFILE.version, plural: CLUSTER_PROFILE.plural, namespace: NAMESPACE, name: NAME };
  await custom.patchNamespacedCustomObject(
    {
      ...cp,
      body: {
        apiVersion: `${CLUSTER_PROFILE.group}/${CLUSTER_PROFILE.version}`,
        kind: 'ClusterProfile',
        metadata: { name: NAME, namespace: NAMESPACE, labels: { env: 'demo', 'x-k8s.io/cluster-manager': 'local' } },
        spec: { displayName: 'Local demo spoke', clusterManager: { name: 'local' } },
      },
      fieldManager: FIELD_MANAGER,
      force: true,
    },
    apply,
  );
  await custom.patchNamespacedCustomObjectStatus(
    {
      ...cp,
      body: {
        apiVersion: `${CLUSTER_PROFILE.group}/${CLUSTER_PROFILE.version}`,
        kind: 'ClusterProfile',
        metadata: { name: NAME, namespace: NAMESPACE },
        status: {
          accessProviders: [
            {
              name: 'kubeconfig-secretreader',
              cluster: {
                server: kc.getCurrentCluster()!.server,
                extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { name: SOURCE_SECRET, key: 'value' } }],
              },
            },
          ],
        },
      },
      fieldManager: FIELD_MANAGER,
      force: true,
    },
    apply,
  );
}

async function waitForSveltosCluster(kc: KubeConfig, timeoutMs: number): Promise<boolean> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await custom.getNamespacedCustomObject({ group: SVELTOS_CLUSTER.group, version: SVELTOS_CLUSTER.version, plural: SVELTOS_CLUSTER.plural, namespace: NAMESPACE, name: NAME });
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return false;
}

async function main(): Promise<number> {
  const exitWhenReady = process.argv.includes('--exit-when-ready');
  const t0 = Date.now();
  await up();
  loadEnvFile(await readFile(envFile, 'utf8'));
  const kc = new KubeConfig();
  kc.loadFromFile(process.env.KUBECONFIG!);
  await applyExample(kc, await readFile(process.env.KUBECONFIG!, 'utf8'));

  const config = parseConfig(['run', '--namespaces', NAMESPACE, '--health-addr', '127.0.0.1:0', '--log-level', process.env.LOG_LEVEL ?? 'info']) as AppConfig;
  const app = await startApp(config, { kubeConfig: kc });
  process.once('SIGINT', () => void app.stop());
  process.once('SIGTERM', () => void app.stop());

  const ready = await waitForSveltosCluster(kc, 120_000);
  const ui = process.env.TEMPORAL_UI_URL!;
  const say = (s: string): boolean => process.stderr.write(`[start] ${s}\n`);
  if (ready) {
    say(`SveltosCluster ${NAMESPACE}/${NAME} and Secret ${NAMESPACE}/${secretNameFor(NAME)} written ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
  } else {
    say(`SveltosCluster ${NAMESPACE}/${NAME} did not appear within 120 s; see the workflow in the UI`);
  }
  say(`Temporal Web UI: ${ui}/namespaces/${process.env.TEMPORAL_NAMESPACE}/workflows?query=${encodeURIComponent(`ClusterProfileName="${NAME}"`)}`);
  say(`kubectl: export KUBECONFIG=${process.env.KUBECONFIG}; kubectl -n ${NAMESPACE} get clusterprofiles,sveltosclusters,secrets`);
  if (exitWhenReady) {
    await app.stop();
    return ready ? 0 : 1;
  }
  say('running; Ctrl-C to stop');
  await app.done;
  await app.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[start] error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
