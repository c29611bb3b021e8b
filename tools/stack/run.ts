// Child-process helpers for the stack tool: run a command to completion, with an optional heartbeat.
import { spawn } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Printed every 30 s while the command runs (apt installs; Go builds report through build-progress.ts). */
  heartbeat?: string;
}

export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const started = Date.now();
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = opts.heartbeat
    ? setInterval(() => log(`${opts.heartbeat} … ${Math.round((Date.now() - started) / 1000)} s`), 30_000)
    : undefined;
  try {
    const code = await new Promise<number | null>((res, rej) => {
      child.on('error', rej);
      child.on('close', res);
    });
    if (code !== 0) {
      throw new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${(err || out).slice(-4000)}`);
    }
    return out;
  } finally {
    if (timer) clearInterval(timer);
  }
}

export function log(msg: string): void {
  process.stderr.write(`[stack] ${msg}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
