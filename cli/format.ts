// Output helpers of the operator commands: relative times (durations in kubectl's style, from
// worker/console-format.ts, which the log lines share), cells, a streaming table,
// and streaming JSON / YAML lists. Everything writes through CliIo, which honours back-pressure, so that
// 10,000 rows piped into `head` or a slow terminal never pile up in memory.
import { stringify } from 'yaml';
import { humanDuration } from '../worker/console-format.js';

export interface CliOutput {
  write(chunk: string): boolean;
  once?(event: 'drain', listener: () => void): unknown;
}

export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  env: NodeJS.ProcessEnv;
  now(): number;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, now: () => Date.now() };
}

/** Writes, and waits for 'drain' when the stream asks for it. */
export async function emit(out: CliOutput, chunk: string): Promise<void> {
  if (out.write(chunk) || !out.once) return;
  await new Promise<void>((resolve) => out.once!('drain', resolve));
}

/** "in 47m" / "5m ago" relative to now. */
export function relative(atMs: number, nowMs: number): string {
  return atMs >= nowMs ? `in ${humanDuration(atMs - nowMs)}` : `${humanDuration(nowMs - atMs)} ago`;
}

export function iso(ms: number | undefined): string | undefined {
  return ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString();
}

/** One line, at most `max` characters (an ellipsis marks the cut). */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(1, max - 1))}…`;
}

/**
 * A table that streams: the first batch (up to `batchRows` rows) sets the column widths and is printed
 * sorted; later batches are printed as they come, sorted within themselves, with the same widths (a
 * longer cell pushes its row's later cells to the right rather than holding every row back).
 */
export class StreamingTable {
  private widths: number[] | undefined;
  private batch: string[][] = [];
  rows = 0;

  constructor(
    private readonly out: CliOutput,
    private readonly header: readonly string[],
    private readonly batchRows: number,
    private readonly sortKey: (cells: string[]) => string = (cells) => cells.join('\u0000'),
    /** Widest a column gets from its cells (longer cells overflow their own row only). */
    private readonly maxWidth = 40,
  ) {}

  async add(cells: string[]): Promise<void> {
    this.batch.push(cells);
    this.rows++;
    if (this.batch.length >= this.batchRows) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const keyed = this.batch.map((cells) => ({ cells, key: this.sortKey(cells) }));
    keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const rows = keyed.map((k) => k.cells);
    this.batch = [];
    let text = '';
    if (!this.widths) {
      this.widths = this.header.map((h, i) => {
        let w = 0;
        for (const r of rows) w = Math.max(w, Math.min((r[i] ?? '').length, this.maxWidth));
        return Math.max(h.length, w);
      });
      text += this.line([...this.header]);
    }
    for (const r of rows) text += this.line(r);
    await emit(this.out, text);
  }

  private line(cells: string[]): string {
    const w = this.widths!;
    return `${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(w[i] ?? 0))).join('  ')}\n`;
  }
}

/** A JSON array written item by item: "[", items separated by ",", "]". */
export class StreamingJsonList {
  private count = 0;
  constructor(private readonly out: CliOutput) {}
  async add(item: unknown): Promise<void> {
    const body = JSON.stringify(item, null, 2).replace(/^/gm, '  ');
    await emit(this.out, `${this.count++ === 0 ? '[\n' : ',\n'}${body}`);
  }
  async end(): Promise<void> {
    await emit(this.out, this.count === 0 ? '[]\n' : '\n]\n');
  }
}

/** A YAML sequence written item by item ("- " entries); an empty list is "[]". */
export class StreamingYamlList {
  private count = 0;
  constructor(private readonly out: CliOutput) {}
  async add(item: unknown): Promise<void> {
    this.count++;
    await emit(this.out, stringify([item], { lineWidth: 0 }));
  }
  async end(): Promise<void> {
    if (this.count === 0) await emit(this.out, '[]\n');
  }
}

export function yaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}
