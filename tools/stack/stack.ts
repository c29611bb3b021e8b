// The local Kubernetes API server and Temporal dev server behind `npm run stack -- up | down | status`.
// Contract relied on by tests, the README and outside checks: `.stack/env` exports KUBECONFIG,
// TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_UI_URL, TEMPORAL_METRICS_URL and TEMPORAL_CLI_PATH, and for the spoke
// cluster SPOKE_KUBECONFIG, SPOKE_TOKEN_MINTER_FILE and SPOKE_SERVICE_ACCOUNT; with `up --for-tests`
// also SVELTOS_NAMESPACE (the real Sveltos addon-controller runs against the hub); once the test
// prerequisites are installed (`test-prereqs`, or `up --for-tests`) also TEMPORAL_TEST_SERVER_PATH,
// HELM_PATH and CHROMIUM_PATH. `up` alone builds and starts only what the main job needs.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureCrdFiles, ensureKubetestenv, ensureTemporalCli, KUBERNETES_VERSION, TEMPORAL_CLI_VERSION } from './build.js';
import { installCrds } from './crds.js';
import { setUpSpokeIdentity, SPOKE_SERVICE_ACCOUNT, spokeAdminTokenFile, spokeDir, spokeKubeconfig } from './spoke.js';
import { ensureSveltos, startSveltos, SVELTOS_NAMESPACE, type SveltosProcesses } from './sveltos.js';
import { isOurs, portIsFree, stablePort, startDetached, stop, waitFor, type ProcessRecord } from './processes.js';
import { envFile, stackDir, stateFile } from './paths.js';
import { log } from './run.js';
import { registerSearchAttributes, temporalReady } from './temporal.js';
import { SEARCH_ATTRIBUTE_DECLARATIONS } from '../../workflows/api.js';
import { ensureTestServer } from '../test-server/ensure.js';
import { ensureHelm } from '../helm/ensure.js';
import { ensureChromium } from './chromium.js';

const NAMESPACE = 'default';

interface Ports {
  kubeApi: number;
  /** Absent in the state of a checkout that ran `up` before the spoke existed. */
  spokeApi?: number;
  temporal: number;
  temporalUi: number;
  temporalHttp: number;
  temporalMetrics: number;
}

/** Tools only the tests use; installed by the test path, never by `npm start`. */
interface TestPrereqs {
  testServer: string;
  helm: string;
  chromium: string;
}

export interface StackState {
  ports: Ports;
  kube?: ProcessRecord;
  spoke?: ProcessRecord;
  temporal?: ProcessRecord;
  /** Only with `up --for-tests`. */
  sveltos?: SveltosProcesses;
  temporalCli?: string;
  testPrereqs?: TestPrereqs;
  lastUp?: { at: string; durationMs: number; built: string[] };
}

export interface UpOptions {
  /** Also install the test prerequisites (time-skipping server jars, helm, chromium), in parallel. */
  forTests?: boolean;
}

const kubeDir = join(stackDir, 'kube');
const kubeconfig = join(kubeDir, 'kubeconfig');

export async function loadState(): Promise<StackState | undefined> {
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(await readFile(stateFile, 'utf8')) as StackState;
}

async function saveState(state: StackState): Promise<void> {
  await writeFile(stateFile, JSON.stringify(state, null, 2) + '\n');
}

/** Keeps the ports of a previous `up` when they are still ours or free, so URLs stay stable per checkout. */
async function choosePorts(prev: StackState | undefined): Promise<Ports> {
  const taken = new Set<number>(prev ? Object.values(prev.ports) : []);
  const running = isOurs(prev?.kube) || isOurs(prev?.spoke) || isOurs(prev?.temporal);
  if (prev && (running || (await Promise.all(Object.values(prev.ports).map(portIsFree))).every(Boolean))) {
    return { ...prev.ports, spokeApi: prev.ports.spokeApi ?? (await pickFree(taken)) };
  }
  taken.clear();
  const pick = (): Promise<number> => pickFree(taken);
  return { kubeApi: await pick(), spokeApi: await pick(), temporal: await pick(), temporalUi: await pick(), temporalHttp: await pick(), temporalMetrics: await pick() };
}

async function pickFree(taken: Set<number>): Promise<number> {
  for (;;) {
    const p = await stablePort(taken);
    if (!taken.has(p)) {
      taken.add(p);
      return p;
    }
  }
}

/**
 * SQLite in WAL mode with synchronous=normal: a commit is one append to the log instead of a rewrite
 * of the journal, which roughly halves the dev server's cost per workflow; committed transactions still
 * survive a crash of the server (only an OS crash can lose the last ones, fine for a local stack).
 */
export const TEMPORAL_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

export async function up(options: UpOptions = {}): Promise<void> {
  const t0 = Date.now();
  await mkdir(kubeDir, { recursive: true });
  const prev = await loadState();
  const ports = await choosePorts(prev);
  const state: StackState = { ...prev, ports };
  const started: string[] = [];

  const needKube = !isOurs(prev?.kube);
  const needSpoke = !isOurs(prev?.spoke);
  const needTemporal = !isOurs(prev?.temporal);
  // Build everything before starting anything: the builds dominate a cold `up`, and they run in parallel.
  const prereqs = options.forTests ? ensureTestPrereqs() : Promise.resolve(undefined);
  // The longest build of the test path: started first, awaited last.
  const sveltosBuild = options.forTests ? ensureSveltos() : Promise.resolve(undefined);
  sveltosBuild.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  const [kubeBin, temporalBin, crdFiles] = await Promise.all([
    needKube || needSpoke ? ensureKubetestenv() : Promise.resolve(prev!.kube!.binary),
    ensureTemporalCli(),
    ensureCrdFiles(),
  ]);
  state.temporalCli = temporalBin;

  const startKube = (name: string, dir: string, port: number): ProcessRecord => {
    log(`starting ${name} (kube-apiserver ${KUBERNETES_VERSION}) on 127.0.0.1:${port}`);
    return startDetached(kubeBin, [], join(stackDir, `${name}.log`), { ...process.env, KTE_DIR: dir, KTE_API_PORT: String(port) });
  };
  if (needKube) {
    await rm(join(kubeDir, 'ready'), { force: true });
    state.kube = startKube('kube-apiserver', kubeDir, ports.kubeApi);
    started.push('kube');
    await saveState(state);
  }
  if (needSpoke) {
    await mkdir(spokeDir, { recursive: true });
    await rm(join(spokeDir, 'ready'), { force: true });
    state.spoke = startKube('spoke-apiserver', spokeDir, ports.spokeApi!);
    started.push('spoke');
    await saveState(state);
  }
  if (needTemporal) {
    log(`starting Temporal dev server ${TEMPORAL_CLI_VERSION} on 127.0.0.1:${ports.temporal} (UI :${ports.temporalUi})`);
    const args = [
      'server', 'start-dev',
      '--ip', '127.0.0.1',
      '--port', String(ports.temporal),
      '--ui-port', String(ports.temporalUi),
      '--http-port', String(ports.temporalHttp),
      '--metrics-port', String(ports.temporalMetrics),
      '--db-filename', join(stackDir, 'temporal.sqlite'),
      ...TEMPORAL_SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]),
      '--namespace', NAMESPACE,
      '--log-level', 'warn',
      ...SEARCH_ATTRIBUTE_DECLARATIONS.flatMap((d) => ['--search-attribute', `${d.name}=${d.type}`]),
    ];
    state.temporal = startDetached(temporalBin, args, join(stackDir, 'temporal.log'), process.env);
    started.push('temporal');
    await saveState(state);
  }

  const temporalAddress = `127.0.0.1:${ports.temporal}`;
  const uiUrl = `http://127.0.0.1:${ports.temporalUi}`;
  await Promise.all([
    waitFor('kube-apiserver /readyz', 180_000, () => Promise.resolve(existsSync(join(kubeDir, 'ready')) ? true : undefined), state.kube),
    waitFor('spoke kube-apiserver /readyz', 180_000, () => Promise.resolve(existsSync(join(spokeDir, 'ready')) ? true : undefined), state.spoke),
    waitFor('Temporal frontend', 120_000, async () => ((await temporalReady(temporalAddress, NAMESPACE)) ? true : undefined), state.temporal),
  ]);
  await waitFor('Temporal Web UI', 60_000, async () => ((await fetch(uiUrl)).ok ? true : undefined), state.temporal);

  const [crds, added] = await Promise.all([
    installCrds(kubeconfig, [crdFiles.clusterProfile, crdFiles.sveltosCluster]),
    registerSearchAttributes(temporalAddress, NAMESPACE),
    setUpSpokeIdentity(spokeKubeconfig),
  ]);
  log(`CRDs served: ${crds.join(', ')}`);
  if (added.length) log(`registered search attributes: ${added.join(', ')}`);
  log(`spoke: https://127.0.0.1:${ports.spokeApi} with ServiceAccount ${SPOKE_SERVICE_ACCOUNT.namespace}/${SPOKE_SERVICE_ACCOUNT.name} bound to cluster-admin`);

  const sveltos = await sveltosBuild;
  if (sveltos) {
    const run = await startSveltos(sveltos, kubeconfig, state.sveltos);
    state.sveltos = run.processes;
    started.push(...run.started);
    await saveState(state);
  }

  const installed = await prereqs;
  // Reread: a concurrent `test-prereqs` may have recorded its tools meanwhile.
  state.testPrereqs = installed ?? (await loadState())?.testPrereqs ?? state.testPrereqs;
  state.lastUp = { at: new Date().toISOString(), durationMs: Date.now() - t0, built: started };
  await saveState(state);
  await writeEnvFile(state);
  log(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s (${started.length ? `started ${started.join(', ')}` : 'all already running'})`);
  log(`Temporal Web UI: ${uiUrl}`);
  log(`environment: source ${envFile}`);
}

/** Installs what only the tests need and records it for `.stack/env`; the servers are not touched. */
export async function testPrereqs(): Promise<void> {
  const tools = await ensureTestPrereqs();
  const state = await loadState();
  if (!state) {
    log('test prerequisites installed; `npm run stack -- up` will export them in .stack/env');
    return;
  }
  state.testPrereqs = tools;
  await saveState(state);
  if (existsSync(envFile)) await writeEnvFile(state);
  log('test prerequisites installed and exported in .stack/env');
}

async function ensureTestPrereqs(): Promise<TestPrereqs> {
  const [testServer, helm, chromium] = await Promise.all([
    // Resolves the time-skipping server's jars from Maven; the tests start their own servers.
    ensureTestServer(),
    // The deploy tests lint, render and dry-run the Helm chart with it.
    ensureHelm(),
    // The Web UI test drives it.
    ensureChromium(),
  ]);
  return { testServer, helm, chromium };
}

/** Test tools recorded earlier are exported only while they still exist, so the env never lies. */
async function writeEnvFile(state: StackState): Promise<void> {
  const { ports } = state;
  const tools = state.testPrereqs;
  const toolsPresent = tools && [tools.testServer, tools.helm, tools.chromium].every((p) => existsSync(p));
  await writeFile(
    envFile,
    [
      '# Written by `npm run stack -- up`; source it: `source .stack/env`.',
      `export KUBECONFIG=${kubeconfig}`,
      `export TEMPORAL_ADDRESS=127.0.0.1:${ports.temporal}`,
      `export TEMPORAL_NAMESPACE=${NAMESPACE}`,
      `export TEMPORAL_UI_URL=http://127.0.0.1:${ports.temporalUi}`,
      // The dev server's Prometheus metrics, among them its own count of billable actions (`action`).
      `export TEMPORAL_METRICS_URL=http://127.0.0.1:${ports.temporalMetrics}/metrics`,
      ...(state.temporalCli ? [`export TEMPORAL_CLI_PATH=${state.temporalCli}`] : []),
      `export SPOKE_KUBECONFIG=${spokeKubeconfig}`,
      `export SPOKE_TOKEN_MINTER_FILE=${spokeAdminTokenFile}`,
      `export SPOKE_SERVICE_ACCOUNT=${SPOKE_SERVICE_ACCOUNT.namespace}/${SPOKE_SERVICE_ACCOUNT.name}`,
      ...(state.sveltos && isOurs(state.sveltos.addonController) ? [`export SVELTOS_NAMESPACE=${SVELTOS_NAMESPACE}`] : []),
      ...(toolsPresent
        ? [`export TEMPORAL_TEST_SERVER_PATH=${tools.testServer}`, `export HELM_PATH=${tools.helm}`, `export CHROMIUM_PATH=${tools.chromium}`]
        : []),
      '',
    ].join('\n'),
  );
}

export async function down(): Promise<void> {
  const state = await loadState();
  if (!state) {
    log('nothing to stop (no .stack/state.json)');
    return;
  }
  const procs = [
    ['sveltos addon-controller', state.sveltos?.addonController],
    ['sveltos readiness', state.sveltos?.readiness],
    ['temporal', state.temporal],
    ['kube-apiserver', state.kube],
    ['spoke kube-apiserver', state.spoke],
  ] as const;
  for (const [name, rec] of procs) {
    if (rec) log(`${name} (pid ${rec.pid}): ${await stop(rec)}`);
  }
  delete state.kube;
  delete state.spoke;
  delete state.temporal;
  delete state.sveltos;
  await saveState(state);
  await rm(envFile, { force: true });
}

export async function status(): Promise<boolean> {
  const state = await loadState();
  if (!state) {
    console.log('stack: not set up (run `npm run stack -- up`)');
    return false;
  }
  const row = (name: string, rec: ProcessRecord | undefined, where: string): boolean => {
    const alive = isOurs(rec);
    console.log(`${name.padEnd(16)} ${alive ? 'running' : 'stopped'}${rec ? `  pid ${rec.pid}` : ''}  ${where}${rec ? `  log ${rec.log}` : ''}`);
    return alive;
  };
  const k = row('kube-apiserver', state.kube, `https://127.0.0.1:${state.ports.kubeApi}  kubeconfig ${kubeconfig}`);
  const sp = row('spoke', state.spoke, `https://127.0.0.1:${state.ports.spokeApi ?? '?'}  kubeconfig ${spokeKubeconfig}`);
  const t = row('temporal', state.temporal, `127.0.0.1:${state.ports.temporal}  UI http://127.0.0.1:${state.ports.temporalUi}`);
  if (state.sveltos) {
    row('sveltos addon', state.sveltos.addonController, `against the hub, NAMESPACE=${SVELTOS_NAMESPACE}`);
    row('sveltos ready', state.sveltos.readiness, 'stand-in for sveltoscluster-manager');
  }
  if (state.lastUp) console.log(`last up: ${state.lastUp.at}, took ${(state.lastUp.durationMs / 1000).toFixed(1)} s`);
  console.log(`test prerequisites: ${state.testPrereqs ? 'installed' : 'not installed (npm run stack -- test-prereqs)'}`);
  if (existsSync(envFile)) console.log(`env: ${envFile}`);
  return k && sp && t;
}
