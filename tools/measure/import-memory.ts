// What loading the controller's modules costs in memory, before it connects to anything: RSS and heap
// after importing the compiled modules `clusterinventory run` imports (dist/cli/app.js, dist/worker/worker.js)
// and a forced GC, beside an empty node and @kubernetes/client-node alone. Each is measured in a fresh
// process, with bin/clusterinventory's memory settings, several times; the medians are printed.
//
//   npm run build && node dist/tools/measure/import-memory.js [--runs 5] [--dist DIR]...
//
// --dist (repeatable) measures the controller of another compiled tree too, e.g. a copy of an earlier
// build kept under dist/ (so that its imports still resolve to this checkout's node_modules).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, dist: { type: 'string', multiple: true, default: [] } } });
const runs = Number(values.runs);

const ownDist = fileURLToPath(new URL('../..', import.meta.url));
const controller = (dist: string): string[] => ['cli/app.js', 'worker/worker.js'].map((f) => pathToFileURL(resolve(dist, f)).href);

const CASES: Record<string, string[]> = {
  'node alone': [],
  '@kubernetes/client-node': ['@kubernetes/client-node'],
  'controller (cli/app + worker/worker)': controller(ownDist),
  ...Object.fromEntries(values.dist.map((d) => [`controller of ${d}`, controller(d)])),
};

interface Sample {
  rssMiB: number;
  heapUsedMiB: number;
}

function measure(modules: string[]): Sample {
  const script = [
    ...modules.map((m) => `await import(${JSON.stringify(m)});`),
    // Several collections: one pass leaves what finalizers freed for the next.
    'for (let i = 0; i < 3; i++) globalThis.gc();',
    'const m = process.memoryUsage();',
    'process.stdout.write(JSON.stringify({ rssMiB: m.rss / 2 ** 20, heapUsedMiB: m.heapUsed / 2 ** 20 }));',
  ].join('\n');
  const cwd = resolve(ownDist, '..');
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=4', '--input-type=module', '-e', script], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, MALLOC_ARENA_MAX: '2' },
  });
  if (r.status !== 0) throw new Error(`measuring ${modules.join(', ') || 'node alone'} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Sample;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const [name, modules] of Object.entries(CASES)) {
  const samples = Array.from({ length: runs }, () => measure(modules));
  const rss = median(samples.map((s) => s.rssMiB));
  const heap = median(samples.map((s) => s.heapUsedMiB));
  console.log(`${name.padEnd(40)} rss ${rss.toFixed(1).padStart(6)} MiB   heapUsed ${heap.toFixed(1).padStart(6)} MiB   (median of ${runs})`);
}
