// A ReconcileScope over a Kubernetes client double, for the reconcile phases' unit tests.
import type { ResolveDeps } from '../../../activities/credentials/resolve.js';
import type { KubeClient } from '../../../activities/kube/client.js';
import type { Level, ReconcileScope } from '../../../activities/reconcile/scope.js';
import { DEFAULT_SCHEDULE } from '../../../workflows/api.js';

export interface LogLine {
  level: Level;
  msg: string;
  meta: Record<string, unknown>;
}

/** A scope whose client has only the methods a test gives it (others throw), and whose log is captured. */
export function testScope(kube: Partial<KubeClient>, over: Partial<ReconcileScope> = {}): ReconcileScope & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const client = new Proxy(kube, {
    get: (target, prop) => (prop in target ? target[prop as keyof KubeClient] : () => Promise.reject(new Error(`unexpected call: kube.${String(prop)}`))),
  }) as KubeClient;
  return {
    kube: client,
    log: (level, msg, meta) => lines.push({ level, msg, meta }),
    guardAttempts: 3,
    eventInstance: 'test-host',
    now: () => Date.UTC(2026, 11, 7),
    schedule: DEFAULT_SCHEDULE,
    resolveDeps: {} as ResolveDeps,
    lines,
    ...over,
  };
}
