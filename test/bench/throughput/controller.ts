// The controller as a user runs it: the compiled command (`npm run build`, then `bin/clusterinventory
// run …`) in a process of its own, logging JSON lines to a file, with free ports
// for /metrics and the health endpoints (both on, as by default). Optionally under `node --cpu-prof`.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../../tools/stack/processes.js';
import { repoRoot } from '../../../tools/stack/paths.js';
import { sleep } from '../support.js';
import { peakRssMiB } from './proc.js';

export const COMPILED_CLI = join(repoRoot, 'dist', 'cli', 'main.js');
export const COMPILED_BUNDLE = join(repoRoot, 'dist', 'workflow-bundle.js');

export interface ControllerOptions {
  namespace: string;
  taskQueue: string;
  /** Flags beyond the ones that confine it to the benchmark (namespace, task queue, ports). */
  flags: string[];
  logFile: string;
  /** Write a V8 CPU profile into this directory when the process exits. */
  cpuProfDir?: string;
}

export class Controller {
  private exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly args: string[],
    readonly healthPort: number,
  ) {
    this.exited = new Promise((r) => child.once('exit', (code) => r((this.exitCode = code))));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  static async start(o: ControllerOptions): Promise<Controller> {
    if (!existsSync(COMPILED_CLI) || !existsSync(COMPILED_BUNDLE)) throw new Error(`${COMPILED_CLI} or ${COMPILED_BUNDLE} is missing: run \`npm run build\``);
    const [health, metrics] = [await freePort(), await freePort()];
    const args = [
      'run',
      '--namespaces', o.namespace,
      '--task-queue', o.taskQueue,
      '--health-addr', `127.0.0.1:${health}`,
      '--metrics-addr', `127.0.0.1:${metrics}`,
      ...o.flags,
    ];
    // As a user runs it: the `clusterinventory` command (bin/clusterinventory, which starts node with the
    // memory settings), compiled.
    const env = { ...process.env, ...(o.cpuProfDir ? { CLUSTERINVENTORY_NODE_ARGS: `--cpu-prof --cpu-prof-dir=${o.cpuProfDir}` } : {}) };
    const log = openSync(o.logFile, 'a');
    try {
      const child = spawn(join(repoRoot, 'bin', 'clusterinventory'), args, { cwd: repoRoot, env, stdio: ['ignore', log, log] });
      return new Controller(child, args, health);
    } finally {
      closeSync(log);
    }
  }

  /** Resolves when /readyz first answers 200 (Temporal, Kubernetes, worker and informers ready). */
  async ready(): Promise<void> {
    while (this.running) {
      const ok = await fetch(`http://127.0.0.1:${this.healthPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await sleep(100);
    }
    throw new Error('the controller exited before it was ready');
  }

  /** Peak RSS so far (MiB); read it before stop(). */
  peakRssMiB(): number {
    return peakRssMiB(this.pid);
  }

  /** SIGTERM (a graceful shutdown, which also writes the CPU profile), SIGKILL after 60 s. */
  async stop(): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.child.kill('SIGTERM');
    const code = await Promise.race([this.exited, sleep(60_000).then(() => 'timeout' as const)]);
    if (code !== 'timeout') return code;
    this.child.kill('SIGKILL');
    return this.exited;
  }
}
