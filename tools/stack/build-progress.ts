// Progress of the slow, one-time Go builds: what is being built, how long it has run, and an estimate
// from the last recorded build of the same thing. Durations are kept beside the binaries in the shared
// build cache, so every checkout on the machine learns from the first one.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { humanDuration } from '../../worker/console-format.js';
import { cacheRoot } from './paths.js';
import { log } from './run.js';

export interface BuildRecord {
  /** The last successful build. */
  durationMs: number;
  at: string;
  /** The slowest recorded (usually the one with an empty Go cache); a relink can be much faster. */
  longestMs: number;
}

type BuildTimes = Record<string, BuildRecord>;

export const buildTimesFile = (root = cacheRoot): string => join(root, 'build-times.json');

export function readBuildTimes(root = cacheRoot): BuildTimes {
  const file = buildTimesFile(root);
  if (!existsSync(file)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!parsed || typeof parsed !== 'object') return {};
    const out: BuildTimes = {};
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      const r = v as Partial<BuildRecord> | null;
      if (r && typeof r.durationMs === 'number' && r.durationMs > 0 && typeof r.at === 'string') {
        out[k] = { durationMs: r.durationMs, at: r.at, longestMs: Math.max(r.durationMs, typeof r.longestMs === 'number' ? r.longestMs : 0) };
      }
    }
    return out;
  } catch {
    return {}; // a damaged file only costs the estimate
  }
}

export async function recordBuildTime(target: string, durationMs: number, root = cacheRoot): Promise<void> {
  const times = readBuildTimes(root);
  times[target] = { durationMs, at: new Date().toISOString(), longestMs: Math.max(durationMs, times[target]?.longestMs ?? 0) };
  await mkdir(root, { recursive: true });
  const tmp = `${buildTimesFile(root)}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(times, null, 2) + '\n');
  await rename(tmp, buildTimesFile(root));
}

/** One progress line: elapsed time and, when an earlier build is known, how much is probably left. */
export function progressLine(what: string, elapsedMs: number, last: BuildRecord | undefined): string {
  const head = `building ${what}: ${humanDuration(elapsedMs)} elapsed`;
  if (!last) return `${head} (no earlier build recorded on this machine)`;
  const left = last.durationMs - elapsedMs;
  if (left > 0) return `${head}, about ${humanDuration(Math.max(left, 10_000))} left (the last build took ${humanDuration(last.durationMs)})`;
  const worst = last.longestMs - elapsedMs;
  if (worst > 0) {
    return `${head}, longer than the last build (${humanDuration(last.durationMs)}); at most about ${humanDuration(Math.max(worst, 10_000))} left if it is as slow as the slowest recorded (${humanDuration(last.longestMs)})`;
  }
  return `${head}, longer than any recorded build (${humanDuration(last.longestMs)}); still working`;
}

export interface BuildProgressOptions {
  /** Key in the durations file, e.g. "kubetestenv". */
  target: string;
  /** For people: "kube-apiserver v1.36.2 + etcd + garbage collector". */
  what: string;
  /** What a first build usually costs, said when no earlier build is recorded. */
  coldHint: string;
  intervalMs?: number;
  root?: string;
  say?: (line: string) => void;
}

function lastBuildSentence(last: BuildRecord): string {
  const slowest = last.longestMs > last.durationMs ? `; the slowest recorded (empty Go cache) took ${humanDuration(last.longestMs)}` : '';
  return `The last build here took ${humanDuration(last.durationMs)}${slowest}.`;
}

/** Runs a build with progress lines and records its duration when it succeeds. */
export async function withBuildProgress<T>(opts: BuildProgressOptions, build: () => Promise<T>): Promise<T> {
  const say = opts.say ?? log;
  const last = readBuildTimes(opts.root)[opts.target];
  say(
    `building ${opts.what} — once per machine; later runs reuse it and start in seconds. ` +
      (last ? lastBuildSentence(last) : opts.coldHint),
  );
  const started = Date.now();
  const interval = opts.intervalMs ?? (process.stderr.isTTY ? 15_000 : 30_000);
  const timer = setInterval(() => say(progressLine(opts.what, Date.now() - started, last)), interval);
  try {
    const result = await build();
    const took = Date.now() - started;
    await recordBuildTime(opts.target, took, opts.root);
    say(`built ${opts.what} in ${humanDuration(took)}`);
    return result;
  } finally {
    clearInterval(timer);
  }
}
