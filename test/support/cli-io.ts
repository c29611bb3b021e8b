// The operator commands' I/O captured in memory, for tests that run them in process.
import type { CliIo } from '../../cli/format.js';

export function collectingIo(env: CliIo['env'], now: () => number): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((err += s), true) }, env, now },
    out: () => out,
    err: () => err,
  };
}

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs one command (status, refresh) against the real clock and environment, with the given Web UI address. */
export async function runCli(command: (argv: string[], io: CliIo) => Promise<number>, argv: string[], uiUrl: string): Promise<CliRun> {
  const c = collectingIo({ ...process.env, TEMPORAL_UI_URL: uiUrl }, () => Date.now());
  const code = await command(argv, c.io);
  return { code, out: c.out(), err: c.err() };
}
