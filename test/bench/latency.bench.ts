// Create → SveltosCluster latency: the time from creating a ClusterProfile (and setting its status, as a
// cluster manager does) until its SveltosCluster and kubeconfig Secret exist, through the real watcher,
// Temporal dev server, worker and kube-apiserver. Also the time until a source Secret rotation reaches the
// managed Secret. BENCH_LATENCY_PROFILES (default 30) profiles, created one after another.
// Needs `npm run stack -- up`. Figures are reported, never asserted.
import { performance } from 'node:perf_hooks';
import { secretNameFor } from '../../activities/kube/types.js';
import { E2E, secretReaderProvider, spokeKubeconfig } from '../support/e2e.js';
import { tokenIn } from '../support/kubeconfig-view.js';
import { percentiles } from './support.js';

const N = Number(process.env.BENCH_LATENCY_PROFILES ?? 30);

async function until(probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out after 120 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const e2e = await new E2E().start();
const create: number[] = [];
const rotate: number[] = [];
try {
  for (let i = 0; i < N; i++) {
    const name = `lat-${i}`;
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig(`token-${i}-a`) });
    const t0 = performance.now();
    await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)], { labels: { bench: 'latency' } });
    await until(async () => Boolean((await e2e.getSveltosCluster(name)) && (await e2e.getSecret(secretNameFor(name)))));
    create.push(performance.now() - t0);

    const rotated = `token-${i}-b`;
    const t1 = performance.now();
    await e2e.updateSecret(`${name}-src`, { kubeconfig: spokeKubeconfig(rotated) });
    // The managed kubeconfig is rendered from the source, not a copy of it: look for the new token.
    await until(async () => tokenIn(e2e.managedKubeconfig(await e2e.getSecret(secretNameFor(name)))) === rotated);
    rotate.push(performance.now() - t1);
  }
} finally {
  await e2e.stop();
}

for (const [label, xs] of [
  ['create → SveltosCluster + Secret', create],
  ['source Secret rotation → managed Secret', rotate],
] as const) {
  const p = percentiles(xs);
  process.stdout.write(`${label}: n=${p.n} p50=${p.p50.toFixed(0)} ms p90=${p.p90.toFixed(0)} ms max=${p.max.toFixed(0)} ms\n`);
}
process.exit(0);
