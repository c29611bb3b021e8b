// Integration tests run against the real local stack. A missing stack is a failure, never a skip.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { repoRoot } from '../../tools/stack/paths.js';

export interface StackEnv {
  KUBECONFIG: string;
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  TEMPORAL_UI_URL: string;
  /** The dev server's Prometheus endpoint (older .stack/env files lack it: `npm run stack -- up` rewrites it). */
  TEMPORAL_METRICS_URL?: string;
  /** Set when the stack runs Sveltos (`up --for-tests`). */
  SVELTOS_NAMESPACE?: string;
}

let loaded: StackEnv | undefined;

/** Reads `.stack/env` (written by `npm run stack -- up`) into process.env and returns it. */
export function stackEnv(): StackEnv {
  if (loaded) return loaded;
  const file = join(repoRoot, '.stack', 'env');
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: integration tests need the local stack. Run \`npm run stack -- up\` first.`);
  }
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]!] = m[2]!;
  }
  for (const k of ['KUBECONFIG', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_UI_URL'] as const) {
    if (!vars[k]) throw new Error(`${file} does not export ${k}`);
  }
  Object.assign(process.env, vars);
  loaded = vars as unknown as StackEnv;
  return loaded;
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(stackEnv().KUBECONFIG);
  return kc;
}

/** A short random suffix so that tests never collide with each other or with earlier runs. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000} s${last instanceof Error ? `: ${last.message}` : ''}`);
}
