// CPU time and peak memory of a process from Linux procfs: what the process really cost, whoever else
// shares the machine (wall-clock figures on a shared 2-core box are noisy; CPU seconds much less so).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100; // USER_HZ on every mainstream Linux build
    }
  }
  return ticksPerSecond;
}

/** user + system CPU seconds of pid so far (its own threads, not its children), from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/** A `VmHWM`/`VmRSS`-style line of /proc/<pid>/status, in MiB. */
function statusMiB(pid: number, key: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/status has no ${key}`);
  return Number(m[1]) / 1024;
}

/** Peak resident set size of pid so far (the kernel's high-water mark), in MiB. */
export const peakRssMiB = (pid: number): number => statusMiB(pid, 'VmHWM');
export const rssMiB = (pid: number): number => statusMiB(pid, 'VmRSS');

/** CPU seconds of several processes between two points in time. */
export class CpuMeter<K extends string> {
  private readonly start: Record<K, number>;
  constructor(private readonly pids: Record<K, number>) {
    this.start = this.read();
  }
  private read(): Record<K, number> {
    return Object.fromEntries(Object.entries<number>(this.pids).map(([k, pid]) => [k, cpuSeconds(pid)])) as Record<K, number>;
  }
  /** CPU seconds used by each process since the meter was made. */
  elapsed(): Record<K, number> {
    const now = this.read();
    return Object.fromEntries(Object.keys(this.pids).map((k) => [k, now[k as K] - this.start[k as K]])) as Record<K, number>;
  }
}
