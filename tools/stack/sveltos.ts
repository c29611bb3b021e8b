// Real Sveltos in the test path (`up --for-tests` only): the addon-controller v1.13.0, built from the Go
// module proxy through the wrapper module test/sveltos, and test/sveltos/readiness, a stand-in for
// sveltoscluster-manager (the proxy does not serve it) built on libsveltos' own clusterproxy code. Both
// run outside the cluster against the hub. Their CRDs come from the same modules' config/crd/bases,
// verified against test/sveltos/go.sum.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { buildInto, goEnv, goVersion, hash } from './build.js';
import { withBuildProgress } from './build-progress.js';
import { installCrds } from './crds.js';
import { cacheRoot, repoRoot, stackDir } from './paths.js';
import { freePort, isOurs, startDetached, stop, waitFor, type ProcessRecord } from './processes.js';
import { log, run } from './run.js';

export const SVELTOS_VERSION = 'v1.13.0';
/** Where Sveltos keeps its own objects on the hub (its env NAMESPACE), as in a Helm install. */
export const SVELTOS_NAMESPACE = 'projectsveltos';
export const sveltosModule = join(repoRoot, 'test', 'sveltos');
/**
 * The stand-in probes only SveltosClusters in namespaces with this label: the other tests write
 * SveltosClusters for fictitious clusters and check that nobody else writes them.
 */
export const SVELTOS_PROBE_LABEL = 'clusterinventory-temporal.test/sveltos-readiness';
const CRD_MODULES = ['github.com/projectsveltos/libsveltos', 'github.com/projectsveltos/addon-controller'];

export interface SveltosBuild {
  addonController: string;
  readiness: string;
  crdFiles: string[];
}

export interface SveltosProcesses {
  addonController: ProcessRecord;
  readiness: ProcessRecord;
}

async function moduleInputs(): Promise<Buffer[]> {
  const files = ['go.mod', 'go.sum', ...(await readdir(join(sveltosModule, 'readiness'))).filter((f) => f.endsWith('.go')).map((f) => `readiness/${f}`)].sort();
  return Promise.all(files.map(async (f) => Buffer.concat([Buffer.from(f), await readFile(join(sveltosModule, f))])));
}

const goBuild = async (out: string, pkg: string): Promise<void> => {
  await run('go', ['build', '-trimpath', '-buildvcs=false', '-ldflags', '-s -w', '-o', out, pkg], { cwd: sveltosModule, env: goEnv() });
};

/** Builds both binaries once per input hash (addon-controller first: it is by far the longest). */
export async function ensureSveltos(): Promise<SveltosBuild> {
  const gv = await goVersion();
  const dir = join(cacheRoot, 'sveltos', `${SVELTOS_VERSION}-${hash([...(await moduleInputs()), gv])}`);
  const addonController = await buildInto(dir, 'addon-controller', (out) =>
    withBuildProgress(
      {
        target: 'sveltos-addon-controller',
        what: `the Sveltos addon-controller ${SVELTOS_VERSION}`,
        coldHint: 'With an empty Go cache this takes about 45 min on 2 cores while the other servers build beside it (measured 44 min); it is built only for the tests.',
      },
      () => goBuild(out, 'github.com/projectsveltos/addon-controller/cmd'),
    ),
  );
  const readiness = await buildInto(dir, 'readiness', (out) =>
    withBuildProgress(
      { target: 'sveltos-readiness', what: 'the SveltosCluster readiness checker (libsveltos clusterproxy)', coldHint: 'About a minute once addon-controller is built.' },
      () => goBuild(out, './readiness'),
    ),
  );
  return { addonController, readiness, crdFiles: await sveltosCrdFiles() };
}

/** Every CRD of libsveltos and addon-controller, from the module cache (go.sum checks the download). */
export async function sveltosCrdFiles(): Promise<string[]> {
  const out = await run('go', ['mod', 'download', '-json', ...CRD_MODULES.map((m) => `${m}@${SVELTOS_VERSION}`)], { cwd: sveltosModule, env: goEnv() });
  const files: string[] = [];
  for (const m of CRD_MODULES) {
    const dir = new RegExp(`"Path":\\s*"${m.replace(/\./g, '\\.')}"[\\s\\S]*?"Dir":\\s*"([^"]+)"`).exec(out)?.[1];
    if (!dir) throw new Error(`go mod download did not report the directory of ${m}:\n${out}`);
    const bases = join(dir, 'config', 'crd', 'bases');
    files.push(...(await readdir(bases)).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(bases, f)));
  }
  return files;
}

/** Installs the CRDs and starts whatever of the two is not running yet. */
export async function startSveltos(build: SveltosBuild, hubKubeconfig: string, prev: SveltosProcesses | undefined): Promise<{ processes: SveltosProcesses; started: string[] }> {
  const crds = await installCrds(hubKubeconfig, build.crdFiles);
  log(`Sveltos ${SVELTOS_VERSION} CRDs served: ${crds.length}`);
  const kc = new KubeConfig();
  kc.loadFromFile(hubKubeconfig);
  await kc.makeApiClient(CoreV1Api).patchNamespace(
    { name: SVELTOS_NAMESPACE, body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SVELTOS_NAMESPACE } }, fieldManager: 'clusterinventory-stack', force: true },
    setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
  );
  const env = { ...process.env, KUBECONFIG: hubKubeconfig, NAMESPACE: SVELTOS_NAMESPACE };
  const started: string[] = [];
  // A binary from an earlier build (changed inputs) is replaced, not left running beside the new one.
  const current = async (rec: ProcessRecord | undefined, binary: string): Promise<ProcessRecord | undefined> => {
    if (rec && isOurs(rec) && rec.binary !== binary) await stop(rec);
    return isOurs(rec) ? rec : undefined;
  };
  let addonController = await current(prev?.addonController, build.addonController);
  if (!addonController) {
    const healthPort = await freePort();
    const args = [
      '--disable-telemetry', // it would call home otherwise
      '--agent-in-mgmt-cluster=false',
      '--report-mode=0',
      `--health-addr=127.0.0.1:${healthPort}`,
      '--diagnostics-address=0', // no metrics listener: several checkouts share the machine
      '--v=2',
    ];
    log(`starting the Sveltos addon-controller ${SVELTOS_VERSION} against the hub (NAMESPACE=${SVELTOS_NAMESPACE})`);
    addonController = startDetached(build.addonController, args, join(stackDir, 'sveltos-addon-controller.log'), env);
    started.push('sveltos addon-controller');
    await waitFor('Sveltos addon-controller /readyz', 120_000, async () => ((await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok ? true : undefined), addonController);
  }
  let readiness = await current(prev?.readiness, build.readiness);
  if (!readiness) {
    readiness = startDetached(build.readiness, ['--interval=1s', `--namespace-selector=${SVELTOS_PROBE_LABEL}=true`], join(stackDir, 'sveltos-readiness.log'), env);
    started.push('sveltos readiness');
  }
  return { processes: { addonController, readiness }, started };
}
