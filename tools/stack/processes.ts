// Background servers owned by the stack: started detached in their own process group, tracked by pid,
// and stopped only through the pids this tool recorded (never by name).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { openSync, readFileSync } from 'node:fs';
import { sleep } from './run.js';

export interface ProcessRecord {
  pid: number;
  binary: string;
  args: string[];
  log: string;
  startedAt: string;
}

export function startDetached(binary: string, args: string[], log: string, env: NodeJS.ProcessEnv): ProcessRecord {
  const fd = openSync(log, 'a');
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd], env });
  if (child.pid === undefined) throw new Error(`could not start ${binary}`);
  child.unref();
  return { pid: child.pid, binary, args, log, startedAt: new Date().toISOString() };
}

/** True when the pid is alive AND still runs the binary we started (pids get reused). */
export function isOurs(rec: ProcessRecord | undefined): boolean {
  if (!rec) return false;
  try {
    process.kill(rec.pid, 0);
  } catch {
    return false;
  }
  try {
    const argv0 = readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0')[0];
    return argv0 === rec.binary;
  } catch {
    return true; // no procfs: the kill(0) probe is all we have
  }
}

export async function stop(rec: ProcessRecord, graceMs = 20_000): Promise<'stopped' | 'killed' | 'not running'> {
  if (!isOurs(rec)) return 'not running';
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-rec.pid, sig); // the whole group it leads
    } catch {
      try {
        process.kill(rec.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurs(rec)) return 'stopped';
    await sleep(200);
  }
  signal('SIGKILL');
  while (isOurs(rec)) await sleep(100);
  return 'killed';
}

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

/**
 * The kernel's range for the local ports of outgoing connections (Linux), or undefined elsewhere. A server
 * port inside it can be taken by any client's connection while the server is down, so a restarted server
 * could not get its port back (seen in CI: the Temporal metrics port after `down`/`up`).
 */
export function ephemeralPortRange(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): { low: number; high: number } | undefined {
  try {
    const [low, high] = read('/proc/sys/net/ipv4/ip_local_port_range').trim().split(/\s+/).map(Number);
    return low! > 0 && high! >= low! ? { low: low!, high: high! } : undefined;
  } catch {
    return undefined;
  }
}

/** Lowest port stablePort() picks from. */
const STABLE_PORT_FLOOR = 10_000;

/**
 * A free port for a server that keeps it across restarts: below the ephemeral range when there is room
 * there (tried at random, so that checkouts side by side do not race for the same one), else any free port.
 */
export async function stablePort(taken: ReadonlySet<number> = new Set(), range = ephemeralPortRange(), random: () => number = Math.random): Promise<number> {
  if (range && range.low - STABLE_PORT_FLOOR > 1000) {
    for (let i = 0; i < 100; i++) {
      const p = STABLE_PORT_FLOOR + Math.floor(random() * (range.low - STABLE_PORT_FLOOR));
      if (!taken.has(p) && (await portIsFree(p))) return p;
    }
  }
  return freePort();
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, rec?: ProcessRecord): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (rec && !isOurs(rec)) throw new Error(`${what}: the process exited; see ${rec.log}`);
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = (e as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`${what}: not ready after ${timeoutMs / 1000} s${lastError ? ` (last error: ${lastError})` : ''}${rec ? `; see ${rec.log}` : ''}`);
}
