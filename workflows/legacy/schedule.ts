// The first release's retry delay (part of the legacy box): pure, like workflows/schedule.ts.
import type { ScheduleConfig } from '../api.js';

/**
 * How long a Degraded profile (invalid input, conflict) waits before it tries again on its own: the sync
 * period. A relevant change (profileChanged with a new hash/generation, resyncRequested, refresh update)
 * ends the wait earlier.
 */
export function degradedRetryDelayMs(schedule: ScheduleConfig): number {
  return Math.max(1, schedule.syncPeriodMs);
}
