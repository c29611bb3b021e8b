// Time, injected: the watcher's debounce windows, backoffs and relist timers all go through a Clock so
// that unit tests drive them with a fake one instead of waiting.

export interface Clock {
  now(): number;
  /** Runs `fn` after `ms`; returns a function that cancels it (a no-op once it ran). */
  setTimer(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(t);
  },
};

/** A sleep that `wake()` (e.g. on stop) ends early. */
export function sleep(clock: Clock, ms: number, wakers: Set<() => void>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      wakers.delete(done);
      cancel();
      resolve();
    };
    const cancel = clock.setTimer(done, ms);
    wakers.add(done);
  });
}

/** Exponential backoff with a cap: 1st failure → initialMs, doubling up to maxMs. */
export function backoffMs(failures: number, initialMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 30));
}
