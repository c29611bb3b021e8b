// `npm run bench [-- NAME… [--flag value…]]`: runs test/bench/*.bench.ts, one after the other, each in its
// own Node process (so that memory figures are its own; --expose-gc lets a benchmark settle the heap
// before measuring). NAMEs select benchmarks by file name; everything from the first flag on is passed to
// each selected benchmark (`npm run bench -- throughput --backlog 300`). Benchmarks need the local stack
// (`npm run stack -- up`). Exit code: non-zero if any benchmark failed.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Long benchmarks (tens of minutes, a build, servers loaded flat out) run only when named. */
const ONLY_WHEN_NAMED = ['throughput'];

const dir = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const firstFlag = args.findIndex((a) => a.startsWith('-'));
const names = firstFlag < 0 ? args : args.slice(0, firstFlag);
const passed = firstFlag < 0 ? [] : args.slice(firstFlag);
const files = (await readdir(dir))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => (names.length ? names.some((n) => f.includes(n)) : !ONLY_WHEN_NAMED.some((n) => f.startsWith(`${n}.`))))
  .sort();
if (files.length === 0) {
  process.stderr.write(`no benchmarks in ${dir}${names.length ? ` matching ${names.join(', ')}` : ''}\n`);
  process.exit(1);
}

let failed = 0;
for (const file of files) {
  process.stdout.write(`\n=== ${file} ===\n`);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(dir, file), ...passed], { stdio: 'inherit', env: process.env });
    child.once('exit', resolve);
  });
  if (code !== 0) {
    failed++;
    process.stdout.write(`=== ${file} failed (exit ${code}) ===\n`);
  }
}
process.exit(failed ? 1 : 0);
