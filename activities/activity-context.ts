// The current Temporal activity context, when there is one: activities also run outside a worker (unit
// tests, direct calls), where Context.current() throws.
import { Context } from '@temporalio/activity';

export function currentActivityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** The current activity's cancellation signal, for aborting its Kubernetes requests. */
export function currentCancellationSignal(): AbortSignal | undefined {
  return currentActivityContext()?.cancellationSignal;
}

/**
 * Runs `fn`, heartbeating every `intervalMs` while it runs when inside an activity: cancellation only
 * reaches activities that heartbeat, and a long exec plugin run should stop when the workflow no longer
 * wants its result. Outside an activity it just runs `fn`.
 */
export async function withHeartbeat<T>(fn: () => Promise<T>, intervalMs = 5_000): Promise<T> {
  const ctx = currentActivityContext();
  // Local activities cannot heartbeat: the worker keeps their workflow task alive instead.
  if (!ctx || ctx.info.isLocal) return fn();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), intervalMs);
  timer.unref();
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
