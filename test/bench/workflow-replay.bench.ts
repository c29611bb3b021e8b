// What the workflow thread spends on one new profile, without servers: a recorded history of a profile's
// first sync (signal-with-start, the sync's local-activity marker, the search-attribute upsert, the refresh
// timer), replayed through the SDK's sandbox again and again, against the benchmark's trivial floor workflow
// replaying its own first task (test/bench/throughput/floor-workflow.ts). CPU of this process per replayed
// workflow, bundles measured in alternating rounds in one process (the machine's drift hits all alike),
// medians and ratios to the floor. Both with the stack-trace limit the worker runs by default
// (worker/bundle.ts) and with full stack traces (--workflow-stack-traces). Figures are reported, never
// asserted. `npm run bench -- workflow-replay [--replays N] [--rounds N]`.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { limitWorkflowStackTraces } from '../../worker/bundle.js';
import { bundleAsBuilt } from '../../tools/workflow-source-map.js';
import { historyFromJSONText, type History } from '../support/histories.js';

Runtime.install({ logger: new DefaultLogger('WARN') });

const { values } = parseArgs({ options: { replays: { type: 'string', default: '300' }, rounds: { type: 'string', default: '5' } }, strict: false });
const REPLAYS = Number(values.replays);
const ROUNDS = Number(values.rounds);
const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const quiet = new DefaultLogger('WARN');

interface Subject {
  label: string;
  code: string;
  history: History;
}

async function bundle(workflowsPath: string): Promise<string> {
  return (await bundleAsBuilt(workflowsPath, here('../../'), quiet)).code;
}

function* copies(history: History, count: number, tag: string): Generator<{ workflowId: string; history: History }> {
  for (let i = 0; i < count; i++) yield { workflowId: `${tag}-${i}`, history };
}

/** CPU milliseconds of this process per replayed workflow. */
async function replayCpuMs(s: Subject, count: number, tag: string): Promise<number> {
  const before = process.cpuUsage();
  for await (const r of Worker.runReplayHistories({ workflowBundle: { code: s.code }, replayName: tag }, copies(s.history, count, tag))) {
    if (r.error) throw new Error(`${s.label}: replay failed: ${r.error.message}`);
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / count;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const ours = await bundle(here('../../workflows/index.ts'));
const floor = await bundle(here('./throughput/floor-workflow.ts'));
const firstSync = historyFromJSONText(await readFile(here('./fixtures/first-sync.history.json'), 'utf8'));
const floorTask = historyFromJSONText(await readFile(here('./fixtures/floor-first-activity.history.json'), 'utf8'));
const subjects: Subject[] = [
  { label: 'floor workflow, stack traces limited', code: limitWorkflowStackTraces(floor), history: floorTask },
  { label: 'floor workflow, full stack traces', code: floor, history: floorTask },
  { label: 'profile workflow, stack traces limited (default)', code: limitWorkflowStackTraces(ours), history: firstSync },
  { label: 'profile workflow, full stack traces', code: ours, history: firstSync },
];

for (const [i, s] of subjects.entries()) await replayCpuMs(s, 100, `warm-${i}`);
const samples = subjects.map(() => [] as number[]);
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, s] of subjects.entries()) samples[i]!.push(await replayCpuMs(s, REPLAYS, `r${round}-${i}`));
}
const medians = samples.map(median);
const floorMs = Math.min(medians[0]!, medians[1]!);
process.stdout.write(`${REPLAYS} replays × ${ROUNDS} rounds per bundle; CPU per replayed workflow (median of rounds; every round)\n`);
for (const [i, s] of subjects.entries()) {
  process.stdout.write(`  ${s.label.padEnd(50)} ${medians[i]!.toFixed(2).padStart(6)} ms  ${(medians[i]! / floorMs).toFixed(2)}× floor   (${samples[i]!.map((x) => x.toFixed(2)).join(' ')})\n`);
}
process.exit(0);
