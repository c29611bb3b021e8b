// `npm start`: the main job on the local default. Brings up the servers the main job needs (not the
// test tools): the hub, the spoke cluster and Temporal. Applies an example ClusterProfile
// `demo/spoke-1` whose access provider is the example exec plugin (tools/exec-plugin/): it mints a
// 10-minute ServiceAccount token on the spoke, which clusterinventory writes for Sveltos and refreshes
// at 80% of its lifetime. It also writes a source Secret with the spoke's kubeconfig for the
// kubeconfig-secretreader example the "what now" shows. Runs `clusterinventory run`, and once the
// example converged prints what to do next. Runs until Ctrl-C, or:
//
//   npm start -- --exit-when-ready   exit 0 once the example converged and the "what now" is printed
//                                    (the reconciler stops; the local servers keep running)
//   npm start -- --log-format json|text   (default: text on a terminal, JSON otherwise)
//   npm start -- --example-namespace NS   put the example in NS instead of `demo` (used by a test)
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startApp, type RunningApp } from '../cli/app.js';
import { workflowUiUrl } from '../cli/connect.js';
import { LOG_FORMATS } from '../worker/console-format.js';
import { parseConfig, type AppConfig } from '../cli/config.js';
import { CLUSTER_PROFILE, SVELTOS_CLUSTER, secretNameFor, type ClusterProfile } from '../activities/kube/types.js';
import { statusQuery, workflowIdFor, type WorkflowStatus } from '../workflows/api.js';
import { up } from './stack/stack.js';
import { envFile, repoRoot, stackDir } from './stack/paths.js';
import { SPOKE_SERVICE_ACCOUNT, spokeAdminTokenFile, spokeKubeconfig } from './stack/spoke.js';
import { whatNow } from './what-now.js';

const NAME = 'spoke-1';
const SOURCE_SECRET = 'spoke-1-admin-kubeconfig';
const FIELD_MANAGER = 'clusterinventory-demo';
/** The access-provider name of the example exec plugin, in the demo's provider file and the profile. */
export const DEMO_EXEC_PROVIDER = 'spoke-serviceaccount-token';
/** The TokenRequest API's minimum: the shortest-lived token the spoke mints. */
export const DEMO_TOKEN_SECONDS = 600;
const demoProviderFile = join(stackDir, 'demo-providers.json');
export const EXEC_PLUGIN = join(repoRoot, 'tools', 'exec-plugin', 'serviceaccount-token.js');
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

/** The provider file of the demo: one provider, the example plugin, allowed to mint for one account. */
export function demoProviderFileContent(nodePath: string, minterTokenFile: string): object {
  return {
    providers: [
      {
        name: DEMO_EXEC_PROVIDER,
        execConfig: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: nodePath,
          args: [EXEC_PLUGIN],
          env: [
            { name: 'TOKEN_MINTER_TOKEN_FILE', value: minterTokenFile },
            { name: 'ALLOWED_SERVICE_ACCOUNTS', value: `${SPOKE_SERVICE_ACCOUNT.namespace}/${SPOKE_SERVICE_ACCOUNT.name}` },
          ],
          provideClusterInfo: true,
          interactiveMode: 'Never',
        },
      },
    ],
  };
}

interface Spoke {
  server: string;
  caData: string;
  kubeconfigText: string;
}

async function loadSpoke(): Promise<Spoke> {
  const kc = new KubeConfig();
  kc.loadFromFile(spokeKubeconfig);
  const cluster = kc.getCurrentCluster()!;
  return { server: cluster.server, caData: cluster.caData!, kubeconfigText: await readFile(spokeKubeconfig, 'utf8') };
}

/** The example's ClusterProfile reaches the spoke through the example exec plugin; its Secret is for the secret-reader example. */
async function applyExample(kc: KubeConfig, spoke: Spoke, namespace: string): Promise<ClusterProfile> {
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
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: SOURCE_SECRET, namespace }, stringData: { value: spoke.kubeconfigText } },
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
              name: DEMO_EXEC_PROVIDER,
              cluster: {
                server: spoke.server,
                'certificate-authority-data': spoke.caData,
                extensions: [
                  {
                    name: 'client.authentication.k8s.io/exec',
                    extension: {
                      serviceAccount: `${SPOKE_SERVICE_ACCOUNT.namespace}/${SPOKE_SERVICE_ACCOUNT.name}`,
                      expirationSeconds: DEMO_TOKEN_SECONDS,
                    },
                  },
                ],
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
  /** When the example's credential expires (RFC 3339), when it expires at all. */
  expiresAt?: string;
  nextRefreshAt?: string;
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
        return {
          runId,
          ...(status.credentialExpiresAtMs !== undefined ? { expiresAt: new Date(status.credentialExpiresAtMs).toISOString() } : {}),
          ...(status.nextRefreshAtMs !== undefined ? { nextRefreshAt: new Date(status.nextRefreshAtMs).toISOString() } : {}),
        };
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
  say('bringing up the local servers (hub and spoke kube-apiservers, Temporal dev server); the first run builds them');
  await up();
  loadEnvFile(await readFile(envFile, 'utf8'));
  const kc = new KubeConfig();
  kc.loadFromFile(process.env.KUBECONFIG!);
  const spoke = await loadSpoke();
  await writeFile(demoProviderFile, JSON.stringify(demoProviderFileContent(process.execPath, spokeAdminTokenFile), null, 2) + '\n');
  const profile = await applyExample(kc, spoke, opts.namespace);
  const example = `${opts.namespace}/${NAME}`;
  say(`applied the example ClusterProfile ${example}; starting the reconciler (clusterinventory run: bundling the workflow code takes a few seconds)`);

  const config = parseConfig([
    'run',
    '--namespaces',
    opts.namespace,
    '--clusterprofile-provider-file',
    demoProviderFile,
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
      server: spoke.server,
      sourceSecret: SOURCE_SECRET,
      credential: {
        serviceAccount: `${SPOKE_SERVICE_ACCOUNT.namespace}/${SPOKE_SERVICE_ACCOUNT.name}`,
        lifetimeS: DEMO_TOKEN_SECONDS,
        plugin: 'tools/exec-plugin/serviceaccount-token.js',
        ...(outcome.expiresAt ? { expiresAt: outcome.expiresAt } : {}),
        ...(outcome.nextRefreshAt ? { nextRefreshAt: outcome.nextRefreshAt } : {}),
      },
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
