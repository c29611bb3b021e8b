// `npm run bench`: runs every test/bench/*.bench.ts, one after the other, each in its own Node process
// (so that memory figures are its own; --expose-gc lets a benchmark settle the heap before measuring).
// Benchmarks need the local stack (`npm run stack -- up`). Exit code: non-zero if any benchmark failed.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = (await readdir(dir)).filter((f) => f.endsWith('.bench.ts') && (only.length === 0 || only.some((o) => f.includes(o)))).sort();
if (files.length === 0) {
  process.stderr.write(`no benchmarks in ${dir}${only.length ? ` matching ${only.join(', ')}` : ''}\n`);
  process.exit(1);
}

let failed = 0;
for (const file of files) {
  process.stdout.write(`\n=== ${file} ===\n`);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(dir, file)], { stdio: 'inherit', env: process.env });
    child.once('exit', resolve);
  });
  if (code !== 0) {
    failed++;
    process.stdout.write(`=== ${file} failed (exit ${code}) ===\n`);
  }
}
process.exit(failed ? 1 : 0);
