// Builds the local servers from the Go module proxy, once per input hash. `go build -o` output is not
// cached by Go itself, so the binaries are kept under cacheRoot and reused by every checkout.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheRoot, crdModule, kubetestenvModule } from './paths.js';
import { withBuildProgress } from './build-progress.js';
import { run } from './run.js';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const KUBERNETES_VERSION = 'v1.36.2';

export const goEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  // Fail fast instead of fetching another toolchain; build statically like the upstream releases.
  GOTOOLCHAIN: 'local',
  CGO_ENABLED: '0',
  GOFLAGS: '-mod=readonly',
});

let goVersionCache: string | undefined;
export async function goVersion(): Promise<string> {
  if (goVersionCache) return goVersionCache;
  let v: string;
  try {
    v = (await run('go', ['env', 'GOVERSION'], { env: goEnv() })).trim();
  } catch (e) {
    throw new Error(`Go is required to build the local servers (Go >= 1.26): ${(e as Error).message}`);
  }
  const m = /^go1\.(\d+)/.exec(v);
  if (!m || Number(m[1]) < 26) throw new Error(`Go >= 1.26 is required to build kube-apiserver v1.36; found ${v}`);
  goVersionCache = v;
  return v;
}

export function hash(parts: Array<string | Buffer>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** Builds into a temporary name and renames, so an interrupted build never leaves a half binary. */
export async function buildInto(dir: string, name: string, build: (out: string) => Promise<void>): Promise<string> {
  const bin = join(dir, name);
  if (existsSync(bin)) return bin;
  await mkdir(dir, { recursive: true });
  const tmp = `${bin}.tmp-${process.pid}`;
  await rm(tmp, { force: true });
  await build(tmp);
  await rename(tmp, bin);
  return bin;
}

export async function ensureKubetestenv(): Promise<string> {
  const gv = await goVersion();
  const ldflags = [
    '-s -w',
    `-X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION}`,
    '-X k8s.io/component-base/version.gitMajor=1',
    '-X k8s.io/component-base/version.gitMinor=36',
  ].join(' ');
  const files = (await readdir(kubetestenvModule)).filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum').sort();
  const inputs = await Promise.all(files.map(async (f) => Buffer.concat([Buffer.from(f), await readFile(join(kubetestenvModule, f))])));
  const key = hash([...inputs, gv, ldflags]);
  return buildInto(join(cacheRoot, 'kubetestenv', key), 'kubetestenv', (out) =>
    withBuildProgress(
      {
        target: 'kubetestenv',
        what: `kube-apiserver ${KUBERNETES_VERSION} + etcd + garbage collector`,
        coldHint: 'With an empty Go cache this takes about 15-30 min on 2 cores; after a change to test/kubetestenv, a few minutes.',
      },
      async () => {
        await run('go', ['build', '-trimpath', '-buildvcs=false', '-ldflags', ldflags, '-o', out, '.'], { cwd: kubetestenvModule, env: goEnv() });
      },
    ),
  );
}

export async function ensureTemporalCli(): Promise<string> {
  const gv = await goVersion();
  const key = hash([TEMPORAL_CLI_VERSION, gv]);
  const ldflags = `-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION.slice(1)}`;
  return buildInto(join(cacheRoot, 'temporal-cli', `${TEMPORAL_CLI_VERSION}-${key}`), 'temporal', (out) =>
    withBuildProgress(
      {
        target: 'temporal-cli',
        what: `the Temporal CLI ${TEMPORAL_CLI_VERSION} (dev server + Web UI)`,
        coldHint: 'With an empty Go cache this takes about 5-15 min on 2 cores.',
      },
      () => goInstall(`github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`, ldflags, out),
    ),
  );
}

/** `go install pkg@version` (the module's own go.mod decides), moved to `out`. */
export async function goInstall(pkgAtVersion: string, ldflags: string, out: string): Promise<void> {
  const gobin = `${out}.gobin`;
  await rm(gobin, { recursive: true, force: true });
  await run('go', ['install', '-trimpath', '-ldflags', ldflags, pkgAtVersion], { env: { ...goEnv(), GOBIN: gobin, GOFLAGS: '' } });
  const binName = pkgAtVersion.replace(/@.*$/, '').split('/').pop()!;
  await rename(join(gobin, binName), out);
  await rm(gobin, { recursive: true, force: true });
}

export interface CrdFiles {
  clusterProfile: string;
  sveltosCluster: string;
}

/** The CRDs come from their upstream Go modules, verified against test/crds/go.sum. */
export async function ensureCrdFiles(): Promise<CrdFiles> {
  await goVersion();
  // Explicit module@version arguments: go.sum pins their hashes, no module graph is loaded.
  const gomod = await readFile(join(crdModule, 'go.mod'), 'utf8');
  const pins = [...gomod.matchAll(/^\s+(\S+) (v\S+)$/gm)].map((m) => `${m[1]}@${m[2]}`);
  const out = await run('go', ['mod', 'download', '-json', ...pins], { cwd: crdModule, env: goEnv() });
  const dirs = new Map<string, string>();
  for (const m of out.matchAll(/"Path":\s*"([^"]+)"[\s\S]*?"Dir":\s*"([^"]+)"/g)) dirs.set(m[1]!, m[2]!);
  const ci = dirs.get('sigs.k8s.io/cluster-inventory-api');
  const sv = dirs.get('github.com/projectsveltos/libsveltos');
  if (!ci || !sv) throw new Error(`go mod download did not report module directories:\n${out}`);
  return {
    clusterProfile: join(ci, 'config/crd/bases/multicluster.x-k8s.io_clusterprofiles.yaml'),
    sveltosCluster: join(sv, 'config/crd/bases/lib.projectsveltos.io_sveltosclusters.yaml'),
  };
}
