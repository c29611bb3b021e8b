// The local Kubernetes API server and Temporal dev server behind `npm run stack -- up | down | status`.
// Contract relied on by tests, the README and outside checks: `.stack/env` exports KUBECONFIG,
// TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and TEMPORAL_UI_URL (and HELM_PATH for the deploy tests).
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureCrdFiles, ensureKubetestenv, ensureTemporalCli, KUBERNETES_VERSION, TEMPORAL_CLI_VERSION } from './build.js';
import { installCrds } from './crds.js';
import { freePort, isOurs, portIsFree, startDetached, stop, waitFor, type ProcessRecord } from './processes.js';
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
  temporal: number;
  temporalUi: number;
  temporalHttp: number;
  temporalMetrics: number;
}

interface StackState {
  ports: Ports;
  kube?: ProcessRecord;
  temporal?: ProcessRecord;
  lastUp?: { at: string; durationMs: number; built: string[] };
}

const kubeDir = join(stackDir, 'kube');
const kubeconfig = join(kubeDir, 'kubeconfig');

async function loadState(): Promise<StackState | undefined> {
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(await readFile(stateFile, 'utf8')) as StackState;
}

async function saveState(state: StackState): Promise<void> {
  await writeFile(stateFile, JSON.stringify(state, null, 2) + '\n');
}

/** Keeps the ports of a previous `up` when they are still ours or free, so URLs stay stable per checkout. */
async function choosePorts(prev: StackState | undefined): Promise<Ports> {
  const running = isOurs(prev?.kube) || isOurs(prev?.temporal);
  if (prev && (running || (await Promise.all(Object.values(prev.ports).map(portIsFree))).every(Boolean))) return prev.ports;
  const taken = new Set<number>();
  const pick = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  return { kubeApi: await pick(), temporal: await pick(), temporalUi: await pick(), temporalHttp: await pick(), temporalMetrics: await pick() };
}

export async function up(): Promise<void> {
  const t0 = Date.now();
  await mkdir(kubeDir, { recursive: true });
  const prev = await loadState();
  const ports = await choosePorts(prev);
  const state: StackState = { ...prev, ports };
  const built: string[] = [];

  const needKube = !isOurs(prev?.kube);
  const needTemporal = !isOurs(prev?.temporal);
  // Build both before starting anything: the builds dominate a cold `up`.
  const [kubeBin, temporalBin, crdFiles, testServer, helmBin, chromium] = await Promise.all([
    needKube ? ensureKubetestenv() : Promise.resolve(prev!.kube!.binary),
    ensureTemporalCli(),
    ensureCrdFiles(),
    // Not started here: tests start their own time-skipping servers; this resolves its jars from Maven.
    ensureTestServer(),
    // Not a server: the deploy tests lint, render and dry-run the Helm chart with it.
    ensureHelm(),
    // Not a server either: the Web UI test drives it.
    ensureChromium(),
  ]);

  if (needKube) {
    await rm(join(kubeDir, 'ready'), { force: true });
    log(`starting kube-apiserver ${KUBERNETES_VERSION} on 127.0.0.1:${ports.kubeApi}`);
    state.kube = startDetached(kubeBin, [], join(stackDir, 'kube-apiserver.log'), {
      ...process.env,
      KTE_DIR: kubeDir,
      KTE_API_PORT: String(ports.kubeApi),
    });
    built.push('kube');
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
      '--namespace', NAMESPACE,
      '--log-level', 'warn',
      ...SEARCH_ATTRIBUTE_DECLARATIONS.flatMap((d) => ['--search-attribute', `${d.name}=${d.type}`]),
    ];
    state.temporal = startDetached(temporalBin, args, join(stackDir, 'temporal.log'), process.env);
    built.push('temporal');
    await saveState(state);
  }

  const temporalAddress = `127.0.0.1:${ports.temporal}`;
  const uiUrl = `http://127.0.0.1:${ports.temporalUi}`;
  await Promise.all([
    waitFor('kube-apiserver /readyz', 180_000, () => Promise.resolve(existsSync(join(kubeDir, 'ready')) ? true : undefined), state.kube),
    waitFor('Temporal frontend', 120_000, async () => ((await temporalReady(temporalAddress, NAMESPACE)) ? true : undefined), state.temporal),
  ]);
  await waitFor('Temporal Web UI', 60_000, async () => ((await fetch(uiUrl)).ok ? true : undefined), state.temporal);

  const [crds, added] = await Promise.all([
    installCrds(kubeconfig, [crdFiles.clusterProfile, crdFiles.sveltosCluster]),
    registerSearchAttributes(temporalAddress, NAMESPACE),
  ]);
  log(`CRDs served: ${crds.join(', ')}`);
  if (added.length) log(`registered search attributes: ${added.join(', ')}`);

  await writeFile(
    envFile,
    [
      '# Written by `npm run stack -- up`; source it: `source .stack/env`.',
      `export KUBECONFIG=${kubeconfig}`,
      `export TEMPORAL_ADDRESS=${temporalAddress}`,
      `export TEMPORAL_NAMESPACE=${NAMESPACE}`,
      `export TEMPORAL_UI_URL=${uiUrl}`,
      `export TEMPORAL_CLI_PATH=${temporalBin}`,
      `export TEMPORAL_TEST_SERVER_PATH=${testServer}`,
      `export HELM_PATH=${helmBin}`,
      `export CHROMIUM_PATH=${chromium}`,
      '',
    ].join('\n'),
  );
  state.lastUp = { at: new Date().toISOString(), durationMs: Date.now() - t0, built };
  await saveState(state);
  log(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s (${built.length ? `started ${built.join(', ')}` : 'all already running'})`);
  log(`Temporal Web UI: ${uiUrl}`);
  log(`environment: source ${envFile}`);
}

export async function down(): Promise<void> {
  const state = await loadState();
  if (!state) {
    log('nothing to stop (no .stack/state.json)');
    return;
  }
  for (const [name, rec] of [['temporal', state.temporal], ['kube-apiserver', state.kube]] as const) {
    if (rec) log(`${name} (pid ${rec.pid}): ${await stop(rec)}`);
  }
  delete state.kube;
  delete state.temporal;
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
  const t = row('temporal', state.temporal, `127.0.0.1:${state.ports.temporal}  UI http://127.0.0.1:${state.ports.temporalUi}`);
  if (state.lastUp) console.log(`last up: ${state.lastUp.at}, took ${(state.lastUp.durationMs / 1000).toFixed(1)} s`);
  if (existsSync(envFile)) console.log(`env: ${envFile}`);
  return k && t;
}
