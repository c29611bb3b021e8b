// Fakes for the watcher's unit tests: a manual clock, a scripted list/watch transport and a recording
// Temporal signaler. No servers, no real time.
import type { Clock } from '../../../watcher/clock.js';
import type { ListPage, ListRequest, ListWatchTransport, RawWatchEvent, WatchHandlers, WatchRequest } from '../../../watcher/kube-transport.js';
import type { RunningWorkflow, SignalOutcome, WorkflowSignaler } from '../../../watcher/signaler.js';
import type { ProfileRef, ProfileSnapshot, ResyncRequest } from '../../../workflows/api.js';

/** Lets every pending promise callback and I/O callback run. */
export async function drain(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

export class FakeClock implements Clock {
  private t = 1_000_000;
  private seq = 0;
  private timers: Array<{ id: number; at: number; fn: () => void }> = [];

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const id = ++this.seq;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return () => {
      this.timers = this.timers.filter((x) => x.id !== id);
    };
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward, firing due timers in order and draining async work after each. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await drain();
    for (;;) {
      const next = this.timers.filter((x) => x.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next) break;
      this.timers = this.timers.filter((x) => x.id !== next.id);
      this.t = next.at;
      next.fn();
      await drain();
    }
    this.t = target;
    await drain();
  }
}

/** Equality-based label selectors only ("a=b,c=d"). */
function matches(selector: string | undefined, obj: unknown): boolean {
  if (!selector) return true;
  const labels = (obj as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {};
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return k !== undefined && labels[k] === v;
  });
}

export interface FakeObject {
  metadata: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface OpenWatch {
  req: WatchRequest;
  handlers: WatchHandlers;
  end: () => void;
  fail: (err: Error) => void;
}

/** Objects per path; lists return them, watches stay open until closed, failed or aborted. */
export class FakeTransport implements ListWatchTransport {
  readonly listCalls: ListRequest[] = [];
  readonly watchCalls: WatchRequest[] = [];
  private readonly state = new Map<string, { items: Map<string, unknown>; rv: number }>();
  private open: OpenWatch[] = [];
  /** Errors thrown by the next list calls of a path. */
  readonly listFailures = new Map<string, Error[]>();
  private rv = 100;

  private bucket(path: string) {
    let b = this.state.get(path);
    if (!b) this.state.set(path, (b = { items: new Map(), rv: this.rv }));
    return b;
  }

  /** Puts an object in the store (no event); sets its resourceVersion. */
  put(path: string, obj: FakeObject): FakeObject {
    const o = structuredClone(obj);
    o.metadata.resourceVersion = String(++this.rv);
    const b = this.bucket(path);
    b.items.set(`${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`, o);
    b.rv = this.rv;
    return o;
  }

  remove(path: string, obj: FakeObject): void {
    this.bucket(path).items.delete(`${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`);
    this.bucket(path).rv = ++this.rv;
  }

  /** put() and an event on the open watches of `path`. */
  emit(path: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: FakeObject): FakeObject {
    let o: FakeObject;
    if (type === 'DELETED') {
      this.remove(path, obj);
      o = { ...structuredClone(obj), metadata: { ...obj.metadata, resourceVersion: String(this.rv) } };
    } else o = this.put(path, obj);
    this.raw(path, { type, object: o });
    return o;
  }

  /** A raw event on the open watches of `path` (ERROR, BOOKMARK, ...) whose label selector matches. */
  raw(path: string, ev: RawWatchEvent): void {
    const isObject = ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED';
    for (const w of this.open.filter((x) => x.req.path === path && (!isObject || matches(x.req.labelSelector, ev.object)))) {
      try {
        w.handlers.onEvent(structuredClone(ev));
      } catch (err) {
        w.fail(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  openWatches(path?: string): WatchRequest[] {
    return this.open.filter((w) => path === undefined || w.req.path === path).map((w) => w.req);
  }

  /** The server ends the streams of `path` normally. */
  closeWatches(path: string): void {
    for (const w of this.open.filter((x) => x.req.path === path)) w.end();
  }

  failWatches(path: string, err: Error): void {
    for (const w of this.open.filter((x) => x.req.path === path)) w.fail(err);
  }

  list(req: ListRequest): Promise<ListPage> {
    this.listCalls.push(req);
    const failure = this.listFailures.get(req.path)?.shift();
    if (failure) return Promise.reject(failure);
    const b = this.bucket(req.path);
    const items = [...b.items.values()].filter((x) => matches(req.labelSelector, x)).map((x) => structuredClone(x));
    return Promise.resolve({ items, resourceVersion: String(b.rv) });
  }

  watch(req: WatchRequest, handlers: WatchHandlers, signal: AbortSignal): Promise<void> {
    this.watchCalls.push(req);
    return new Promise<void>((resolve, reject) => {
      const w: OpenWatch = {
        req,
        handlers,
        end: () => {
          this.open = this.open.filter((x) => x !== w);
          resolve();
        },
        fail: (err) => {
          this.open = this.open.filter((x) => x !== w);
          reject(err);
        },
      };
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => w.end());
      this.open.push(w);
      handlers.onOpen();
    });
  }
}

export interface SentSignal {
  kind: 'profileChanged' | 'deletionRequested' | 'resyncRequested';
  ref: ProfileRef;
  snapshot?: ProfileSnapshot;
  request?: ResyncRequest;
}

export class FakeSignaler implements WorkflowSignaler {
  readonly sent: SentSignal[] = [];
  running = new Map<string, RunningWorkflow>();
  listCalls = 0;
  /** Errors thrown by the next signal calls. */
  readonly failures: unknown[] = [];
  deletionOutcome: SignalOutcome = 'signalled';
  profileOutcome: SignalOutcome = 'signalled';
  /** Makes listRunning fail (or never answer, with 'hang'). */
  listBehaviour: 'ok' | 'fail' | 'hang' = 'ok';

  private maybeFail(): void {
    if (this.failures.length) throw this.failures.shift();
  }

  profileChanged(ref: ProfileRef, snapshot: ProfileSnapshot): Promise<SignalOutcome> {
    this.maybeFail();
    this.sent.push({ kind: 'profileChanged', ref, snapshot });
    return Promise.resolve(this.profileOutcome);
  }

  deletionRequested(ref: ProfileRef, snapshot: ProfileSnapshot): Promise<SignalOutcome> {
    this.maybeFail();
    this.sent.push({ kind: 'deletionRequested', ref, snapshot });
    return Promise.resolve(this.deletionOutcome);
  }

  resyncRequested(ref: ProfileRef, request: ResyncRequest): Promise<SignalOutcome> {
    this.maybeFail();
    this.sent.push({ kind: 'resyncRequested', ref, request });
    return Promise.resolve('signalled');
  }

  listRunning(): Promise<Map<string, RunningWorkflow>> {
    this.listCalls++;
    if (this.listBehaviour === 'fail') return Promise.reject(new Error('visibility unavailable'));
    if (this.listBehaviour === 'hang') return new Promise(() => {});
    return Promise.resolve(new Map(this.running));
  }
}
