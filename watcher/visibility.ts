// The watcher's view of the running workflows: one visibility list query (ClusterInventoryObservedHash and
// phase of every running workflow), re-run after each profile relist and on takeover, retried with backoff.
// Before the first answer no decision is made; after each answer the watcher re-decides (onView).
import { backoffMs, type Clock } from './clock.js';
import type { WorkflowView } from './decide.js';
import type { Leadership } from './leader-election.js';
import { errorText, type WatcherLogger } from './log.js';
import type { RunningWorkflow } from './signaler.js';

export interface VisibilityDeps {
  /** The list query (through the watcher's Temporal call budget). */
  list(): Promise<Map<string, RunningWorkflow>>;
  leadership: Leadership;
  clock: Clock;
  logger: WatcherLogger;
  retry: { initialMs: number; maxMs: number };
  /** Delay of a query asked for while one runs. */
  debounceMs: number;
  isStopped(): boolean;
  /** For the log line of each answer. */
  profileCount(): number;
  /** After each answer; `first`: the first since the start. What it throws counts as a failed query. */
  onView(view: Map<string, RunningWorkflow>, first: boolean): void;
}

export class WorkflowVisibility {
  /** Resolves at the first answer (or at stop, so that nothing waits for it forever). */
  readonly ready: Promise<void>;
  private markReady: () => void = () => {};
  private running = new Map<string, RunningWorkflow>();
  private atMs = 0;
  private loaded = false;
  private failures = 0;
  private busy = false;
  private again = false;
  private cancelTimer: (() => void) | undefined;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly d: VisibilityDeps) {
    this.ready = new Promise<void>((r) => (this.markReady = r));
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  /** When the latest answer's query began: signals sent after that may be missing from it. */
  get viewAtMs(): number {
    return this.atMs;
  }

  /** The profile's workflow as last listed; undefined before the first answer. */
  workflowOf(uid: string): WorkflowView | undefined {
    return this.loaded ? (this.running.get(uid) ?? { running: false }) : undefined;
  }

  isIdle(): boolean {
    return !this.busy && !this.cancelTimer;
  }

  /** Resolves when no query runs or is due (see wake). */
  whenIdle(): Promise<void> {
    return new Promise<void>((r) => this.waiters.push(r));
  }

  wake(): void {
    if (!this.isIdle()) return;
    for (const w of this.waiters.splice(0)) w();
  }

  /** One list query after `delayMs`, then every known profile is decided again against it. */
  schedule(delayMs: number): void {
    // A standby decides nothing: its first list (readiness) is enough until it leads.
    if (this.d.isStopped() || (this.loaded && !this.d.leadership.isLeader())) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    if (this.cancelTimer) return;
    this.cancelTimer = this.d.clock.setTimer(() => {
      this.cancelTimer = undefined;
      void this.load();
    }, delayMs);
  }

  async load(): Promise<void> {
    if (this.d.isStopped()) return;
    this.busy = true;
    const queriedAtMs = this.d.clock.now();
    try {
      const next = await this.d.list();
      this.running = next;
      this.atMs = queriedAtMs;
      this.failures = 0;
      const first = !this.loaded;
      this.loaded = true;
      this.d.logger.info({ running: next.size, profiles: this.d.profileCount() }, first ? 'loaded running workflows' : 'reloaded running workflows');
      if (first) this.markReady();
      this.d.onView(next, first);
    } catch (err) {
      this.failures++;
      const wait = backoffMs(this.failures, this.d.retry.initialMs, this.d.retry.maxMs);
      this.d.logger.warn({ error: errorText(err), failures: this.failures, retryInMs: wait }, 'visibility query failed; retrying');
      this.again = false;
      this.busy = false;
      this.schedule(wait);
      return;
    }
    this.busy = false;
    if (this.again) {
      this.again = false;
      this.schedule(this.d.debounceMs);
    }
    this.wake();
  }

  /** Cancels a due query and releases whatever waits for the first answer. */
  stop(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.markReady();
  }
}
