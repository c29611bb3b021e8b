// V8 settings for a process that is mostly idle with bursts (start-up over a fleet, a fleet-wide change):
// left alone, V8 answers a burst by growing each heap to several times its live data and keeps it; these
// keep the peak near the live set, for about 10 % more CPU in a burst (docs/adr/0007-memory-tuning.md).
// Applied at start-up, before the Temporal worker starts its workflow thread (whose heap then follows them
// too). The main thread's young generation is sized when node starts, so `bin/clusterinventory` passes
// --max-semi-space-size on node's command line as well, with MALLOC_ARENA_MAX.
import { setFlagsFromString } from 'node:v8';

/** Flag → value. heap-growing-percent: old-generation growth per GC, 1.2× instead of up to 4×. */
export const NODE_MEMORY_FLAGS: Readonly<Record<string, number>> = {
  'heap-growing-percent': 20,
  'max-semi-space-size': 4,
};

/** glibc malloc arenas; set by bin/clusterinventory (and the image), since glibc reads it when the process starts. */
export const MALLOC_ARENA_MAX = 2;

/**
 * Sets every NODE_MEMORY_FLAGS entry the user did not give node (command line or NODE_OPTIONS; `_` and
 * `-` alike). Returns the flags set.
 */
export function applyNodeMemoryFlags(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
  set: (flag: string) => void = setFlagsFromString,
): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((a) => a.replaceAll('_', '-'));
  const applied: string[] = [];
  for (const [name, value] of Object.entries(NODE_MEMORY_FLAGS)) {
    if (given.some((a) => a === `--${name}` || a.startsWith(`--${name}=`))) continue;
    const flag = `--${name}=${value}`;
    set(flag);
    applied.push(flag);
  }
  return applied;
}
