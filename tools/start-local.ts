// `npm start`: the main job on the local default. Brings up the servers the main job needs (not the
// test tools), applies an example ClusterProfile `demo/spoke-1` (with the source Secret its
// kubeconfig-secretreader provider points at), runs `clusterinventory run` against it, and once the
// example converged prints what to do next. Runs until Ctrl-C, or:
//
//   npm start -- --exit-when-ready   exit 0 once the example converged and the "what now" is printed
//                                    (the reconciler stops; the local servers keep running)
//   npm start -- --log-format json|text   (default: text on a terminal, JSON otherwise)
//   npm start -- --example-namespace NS   put the example in NS instead of `demo` (used by a test)
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startApp, type RunningApp } from '../cli/app.js';
import { workflowUiUrl } from '../cli/connect.js';
import { LOG_FORMATS } from '../worker/console-format.js';
import { parseConfig, type AppConfig } from '../cli/config.js';
import { CLUSTER_PROFILE, SVELTOS_CLUSTER, secretNameFor, type ClusterProfile } from '../activities/kube/types.js';
import { statusQuery, workflowIdFor, type WorkflowStatus } from '../workflows/api.js';
import { up } from './stack/stack.js';
import { envFile } from './stack/paths.js';
import { whatNow } from './what-now.js';

const NAME = 'spoke-1';
const SOURCE_SECRET = 'spoke-1-admin-kubeconfig';
const FIELD_MANAGER = 'clusterinventory-demo';
/** Generous: a loaded 2-core machine bundles the workflow code and starts the worker slowly. */
const CONVERGE_TIMEOUT_MS = 180_000;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const USAGE = 'usage: npm start -- [--exit-when-ready] [--log-format json|text] [--log-level LEVEL] [--example-namespace NS]';

interface StartOptions {
  exitWhenReady: boolean;
  logFormat?: string;
  logLevel: string;
  namespace: string;
}

function parseOptions(argv: string[]): StartOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      'exit-when-ready': { type: 'boolean', default: false },
      'log-format': { type: 'string' },
      'log-level': { type: 'string' },
      'example-namespace': { type: 'string', default: 'demo' },
    },
  });
  const namespace = values['example-namespace'];
  if (!DNS_LABEL.test(namespace)) throw new Error(`--example-namespace=${namespace}: not a namespace name (a DNS label)`);
  if (values['log-format'] !== undefined && !(LOG_FORMATS as readonly string[]).includes(values['log-format'])) {
    throw new Error(`--log-format=${values['log-format']}: expected one of ${LOG_FORMATS.join(', ')}`);
  }
  return {
    exitWhenReady: values['exit-when-ready'],
    ...(values['log-format'] !== undefined ? { logFormat: values['log-format'] } : {}),
    logLevel: values['log-level'] ?? process.env.LOG_LEVEL ?? 'info',
    namespace,
  };
}

const say = (s: string): void => void process.stderr.write(`[start] ${s}\n`);

function loadEnvFile(text: string): void {
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) process.env[m[1]!] = m[2]!;
  }
}

const profileCoords = (namespace: string): { group: string; version: string; plural: string; namespace: string; name: string } => ({
  group: CLUSTER_PROFILE.group,
  version: CLUSTER_PROFILE.version,
  plural: CLUSTER_PROFILE.plural,
  namespace,
  name: NAME,
});

/** The example "spoke" is the local API server itself, reached with its admin kubeconfig. */
async function applyExample(kc: KubeConfig, kubeconfigText: string, namespace: string): Promise<ClusterProfile> {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  await core.patchNamespace(
    { name: namespace, body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, fieldManager: FIELD_MANAGER, force: true },
    apply,
  );
  await core.patchNamespacedSecret(
    {
      name: SOURCE_SECRET,
      namespace,
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: SOURCE_SECRET, namespace }, stringData: { value: kubeconfigText } },
      fieldManager: FIELD_MANAGER,
      force: true,
    },
    apply,
  );
  const cp = profileCoords(namespace);
  await custom.patchNamespacedCustomObject(
    {
      ...cp,
      body: {
        apiVersion: CLUSTER_PROFILE.apiVersion,
        kind: 'ClusterProfile',
        metadata: { name: NAME, namespace, labels: { env: 'demo', 'x-k8s.io/cluster-manager': 'local' } },
        spec: { displayName: 'Local demo spoke', clusterManager: { name: 'local' } },
      },
      fieldManager: FIELD_MANAGER,
      force: true,
    },
    apply,
  );
  return (await custom.patchNamespacedCustomObjectStatus(
    {
      ...cp,
      body: {
        apiVersion: CLUSTER_PROFILE.apiVersion,
        kind: 'ClusterProfile',
        metadata: { name: NAME, namespace },
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
  )) as ClusterProfile;
}

interface Converged {
  runId: string;
}

/**
 * Converged: the workflow of this profile uid reports Ready and both objects it writes exist.
 * On timeout, the last status seen (phase and error) explains why.
 */
async function waitForConvergence(app: RunningApp, kc: KubeConfig, profile: ClusterProfile, timeoutMs: number): Promise<Converged | { lastSeen: string }> {
  const namespace = profile.metadata.namespace!;
  const workflowId = workflowIdFor({ namespace, name: NAME, uid: profile.metadata.uid! });
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  let lastSeen = 'no workflow yet';
  while (Date.now() < deadline) {
    try {
      const handle = app.temporal.client.workflow.getHandle(workflowId);
      const status: WorkflowStatus = await handle.query(statusQuery);
      lastSeen = `phase ${status.phase}${status.lastError ? `, last error ${status.lastError.reason}: ${status.lastError.message}` : ''}`;
      if (status.phase === 'Ready') {
        await custom.getNamespacedCustomObject({ group: SVELTOS_CLUSTER.group, version: SVELTOS_CLUSTER.version, plural: SVELTOS_CLUSTER.plural, namespace, name: NAME });
        await core.readNamespacedSecret({ namespace, name: secretNameFor(NAME) });
        const { runId } = await handle.describe();
        return { runId };
      }
    } catch {
      // Not started, not Ready or objects not written yet: keep polling until the deadline.
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { lastSeen };
}

async function main(): Promise<number> {
  let opts: StartOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`npm start: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const t0 = Date.now();
  say('bringing up the local servers (kube-apiserver, Temporal dev server); the first run builds them');
  await up();
  loadEnvFile(await readFile(envFile, 'utf8'));
  const kc = new KubeConfig();
  kc.loadFromFile(process.env.KUBECONFIG!);
  const profile = await applyExample(kc, await readFile(process.env.KUBECONFIG!, 'utf8'), opts.namespace);
  const example = `${opts.namespace}/${NAME}`;
  say(`applied the example ClusterProfile ${example}; starting the reconciler (clusterinventory run: bundling the workflow code takes a few seconds)`);

  const config = parseConfig([
    'run',
    '--namespaces',
    opts.namespace,
    '--health-addr',
    '127.0.0.1:0',
    // Several checkouts on one machine would fight over the fixed default port.
    '--metrics-addr',
    '0',
    '--log-level',
    opts.logLevel,
    ...(opts.logFormat ? ['--log-format', opts.logFormat] : []),
  ]) as AppConfig;
  const app = await startApp(config, { kubeConfig: kc });
  process.once('SIGINT', () => void app.stop());
  process.once('SIGTERM', () => void app.stop());

  const outcome = await waitForConvergence(app, kc, profile, CONVERGE_TIMEOUT_MS);
  const ui = process.env.TEMPORAL_UI_URL!;
  const temporalNamespace = process.env.TEMPORAL_NAMESPACE!;
  if ('lastSeen' in outcome) {
    const list = `${ui}/namespaces/${encodeURIComponent(temporalNamespace)}/workflows?query=${encodeURIComponent(`ClusterProfileName="${NAME}"`)}`;
    say(`the example ${example} did not converge within ${CONVERGE_TIMEOUT_MS / 1000} s (${outcome.lastSeen}); its workflow: ${list}`);
    await app.stop();
    return 1;
  }
  const text = whatNow({
      example,
      convergedAfterS: (Date.now() - t0) / 1000,
      secretName: secretNameFor(NAME),
      workflowUiUrl: workflowUiUrl(ui, temporalNamespace, workflowIdFor({ namespace: opts.namespace, name: NAME, uid: profile.metadata.uid! }), outcome.runId),
      envFile,
      kubeconfig: process.env.KUBECONFIG!,
      server: kc.getCurrentCluster()!.server,
      sourceSecret: SOURCE_SECRET,
      keepsRunning: !opts.exitWhenReady,
  });
  if (opts.exitWhenReady) {
    // Stopped first, so that the "what now" is the last thing on the screen.
    await app.stop();
    process.stderr.write(text);
    return 0;
  }
  process.stderr.write(text);
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
