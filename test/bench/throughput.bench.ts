// Throughput of the controller against what Kubernetes and Temporal themselves need (issue 7), on the
// local stack, all in one run:
//   1. the Kubernetes write floor: a plain client making the 3 writes per profile at concurrency 10;
//   2. the Temporal floor: `backlog` signal-with-starts of a trivial workflow (one local or regular
//      activity, then a long sleep) with the controller's worker settings;
//   3. `clusterinventory run`, compiled, at default flags and with --kube-api-qps 1000 --kube-api-burst
//      2000: a backlog of profiles present before it starts (time to converged), then a burst created
//      while it runs (create → SveltosCluster latency, none lost);
//   4. an unchanged refresh under a short --sync-period: requests, events and billable actions per cycle,
//      then one signal of each kind (profileChanged, resyncRequested) to every profile and its cost.
// Billable actions are counted twice: by the Temporal server itself (its `action` counter, read before
// and after each phase from TEMPORAL_METRICS_URL) and from the histories (history-costs.ts).
// CPU from /proc (controller, Temporal server, kube-apiserver), peak RSS, Kubernetes requests by verb
// from apiserver_request_total, history events and billable actions from real histories. Figures and
// ratios are reported (table + test-results/throughput-<time>.json), never asserted; the exit code is
// non-zero only when a phase failed, a backlog did not converge or a burst profile was lost.
//
//   npm run bench -- throughput                       # 1,000 backlog, 200 burst at 20/s
//   npm run bench -- throughput --backlog 300 --burst 60
//   npm run bench -- throughput --backlog 10000 --burst 200 --phases temporal-floor,kube-floor,default
//   npm run bench -- throughput --help
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { connectClient } from '../../cli/connect.js';
import { TEMPORAL_CLI_VERSION } from '../../tools/stack/build.js';
import { repoRoot, stateFile } from '../../tools/stack/paths.js';
import { isOurs, type ProcessRecord } from '../../tools/stack/processes.js';
import { stackEnv } from '../support/stack.js';
import { log } from './support.js';
import { summarizeProfileFile, formatSummary } from './throughput/cpu-profile.js';
import { runKubeFloor } from './throughput/kube-floor.js';
import { KubeHttp } from './throughput/kube-http.js';
import { USAGE, parseThroughputParams, type ThroughputParams } from './throughput/params.js';
import { formatResults, ratiosFor, type Machine, type ThroughputResults } from './throughput/report.js';
import { runControllerScenario, runRefreshScenario, type BenchContext } from './throughput/scenarios.js';
import { runTemporalFloor } from './throughput/temporal-floor.js';

const CONTROLLER_VARIANTS = {
  default: [],
  qps1000: ['--kube-api-qps', '1000', '--kube-api-burst', '2000'],
} as const;

function stackPids(): { temporal: number; apiServer: number } {
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { kube?: ProcessRecord; temporal?: ProcessRecord };
  if (!isOurs(state.kube) || !isOurs(state.temporal)) throw new Error(`the local stack is not running (${stateFile}); run \`npm run stack -- up\``);
  return { temporal: state.temporal!.pid, apiServer: state.kube!.pid };
}

async function machine(kube: KubeHttp): Promise<Machine> {
  let go: string | undefined;
  try {
    go = execFileSync('go', ['version'], { encoding: 'utf8' }).trim().replace(/^go version /, '');
  } catch {
    go = undefined;
  }
  const version = await kube.request<{ gitVersion?: string }>('GET', '/version').catch(() => undefined);
  return {
    date: new Date().toISOString(),
    nproc: availableParallelism(),
    memoryGiB: totalmem() / 2 ** 30,
    loadAverageAtStart: loadavg(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    ...(go ? { go } : {}),
    ...(version?.body.gitVersion ? { kubernetes: version.body.gitVersion } : {}),
    temporalCli: TEMPORAL_CLI_VERSION,
  };
}

function build(): void {
  log('npm run build (the controller runs compiled, as a user runs it) …');
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status})`);
}

async function main(params: ThroughputParams): Promise<number> {
  const env = stackEnv();
  const pids = stackPids();
  const resultsDir = resolve(repoRoot, params.outDir);
  await mkdir(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const cpuProfDir = params.cpuProf ? join(resultsDir, `cpu-prof-${stamp}`) : undefined;
  if (cpuProfDir) await mkdir(cpuProfDir, { recursive: true });
  const runsController = params.phases.some((p) => p === 'default' || p === 'qps1000' || p === 'refresh');
  if (runsController && !params.skipBuild) build();

  const temporal = await connectClient(process.env);
  const kube = new KubeHttp(32);
  const results: ThroughputResults = {
    machine: await machine(kube),
    params,
    temporalFloor: [],
    controller: [],
    cpuProfiles: [],
    errors: [],
  };
  const ctx: BenchContext = {
    client: temporal.client,
    temporalNamespace: temporal.namespace,
    kube,
    pids,
    resultsDir,
    historySample: params.historySample,
    settleMs: params.settleMs,
    ...(cpuProfDir ? { cpuProfDir } : {}),
    ...(env.TEMPORAL_METRICS_URL ? { metricsUrl: env.TEMPORAL_METRICS_URL } : {}),
  };
  if (!env.TEMPORAL_METRICS_URL) log('TEMPORAL_METRICS_URL is not in .stack/env (run `npm run stack -- up`): the server\'s own action counts are left out');
  log(`throughput benchmark on ${env.TEMPORAL_ADDRESS} and ${kube.server.host}: phases ${params.phases.join(', ')}`);
  const phase = async (name: string, fn: () => Promise<void>): Promise<void> => {
    log(`\n--- ${name} ---`);
    try {
      await fn();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      results.errors.push({ phase: name, message });
      log(`${name} failed: ${message}`);
    }
  };

  try {
    if (params.phases.includes('kube-floor')) {
      await phase('Kubernetes write floor', async () => {
        results.kubeFloor = await runKubeFloor({
          namespace: `bench-kube-floor-${randomUUID().slice(0, 6)}`,
          profiles: params.backlog,
          concurrency: params.floorConcurrency,
          apiServerPid: pids.apiServer,
          log,
        });
        log(`  ${results.kubeFloor.writes} writes in ${results.kubeFloor.seconds.toFixed(1)} s`);
      });
    }
    if (params.phases.includes('temporal-floor')) {
      for (const activity of params.floorActivities) {
        for (const tuning of params.floorTunings) {
          await phase(`Temporal floor (${activity} activity, ${tuning} settings)`, async () => {
            const f = await runTemporalFloor({ client: temporal.client, address: env.TEMPORAL_ADDRESS, namespace: temporal.namespace, serverPid: pids.temporal, count: params.backlog, activity, tuning, historySample: params.historySample });
            results.temporalFloor.push(f);
            log(`  ${f.workflows} workflows done in ${f.seconds.toFixed(1)} s; ${f.histories.events.mean.toFixed(1)} events each`);
          });
        }
      }
    }
    for (const label of ['default', 'qps1000'] as const) {
      if (!params.phases.includes(label)) continue;
      await phase(`clusterinventory run (${label})`, async () => {
        const c = await runControllerScenario(ctx, { label, flags: [...CONTROLLER_VARIANTS[label], ...params.controllerArgs], backlog: params.backlog, burst: params.burst, burstRate: params.burstRate, timeoutMs: params.timeoutMs, restartBeforeBurst: params.burstAfterRestart });
        results.controller.push({ ...c, ratios: ratiosFor(c, results.kubeFloor, results.temporalFloor) });
        if (c.backlog.convergedSeconds === null) results.errors.push({ phase: label, message: `backlog did not converge: ${c.backlog.converged}/${c.backlog.profiles}` });
        if (c.burst && c.burst.lost > 0) results.errors.push({ phase: label, message: `burst: ${c.burst.lost} of ${c.burst.profiles} profiles never got their SveltosCluster and Secret` });
      });
    }
    if (params.phases.includes('refresh')) {
      await phase('unchanged refresh', async () => {
        results.refresh = await runRefreshScenario(ctx, {
          profiles: params.refreshProfiles,
          syncPeriod: params.syncPeriod,
          syncPeriodMs: params.syncPeriodMs,
          cycles: params.refreshCycles,
          timeoutMs: 120_000,
          controllerArgs: params.controllerArgs,
        });
      });
    }
    if (cpuProfDir && existsSync(cpuProfDir)) {
      for (const file of (await readdir(cpuProfDir)).filter((f) => f.endsWith('.cpuprofile')).sort()) {
        const summary = await summarizeProfileFile(join(cpuProfDir, file));
        results.cpuProfiles.push({ file: join(cpuProfDir, file), summary });
        log(`\nCPU profile ${file}:\n${formatSummary(summary)}`);
      }
    }
  } finally {
    kube.close();
    await temporal.close();
  }

  const out = join(resultsDir, `throughput-${stamp}.json`);
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`\n=== results (${out}) ===\n`);
  log(formatResults(results));
  return results.errors.length ? 1 : 0;
}

let params;
try {
  params = parseThroughputParams(process.argv.slice(2), process.env);
} catch (e) {
  process.stderr.write(`throughput: ${(e as Error).message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (params === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
process.exit(await main(params));
