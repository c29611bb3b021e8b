// The docs stay true to the repository: every ADR says whether it still holds and since when, and no
// comment cites a section of a specification that is not in the repository (docs/behaviour.md is).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const adrDir = join(root, 'docs', 'adr');

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules' || e.name.startsWith('.')) return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return files(path, ext);
    return ext.test(e.name) ? [path] : [];
  });
}

test('every ADR has a Status line and a Date line (YYYY-MM-DD) before its first section', () => {
  const adrs = readdirSync(adrDir).filter((f) => /^\d{4}-.+\.md$/.test(f));
  assert.ok(adrs.length >= 11, `found ${adrs.length} ADRs`);
  const missing = adrs.flatMap((f) => {
    const head = readFileSync(join(adrDir, f), 'utf8').split(/^## /m)[0]!;
    return [/^Status: \S/m.test(head) ? [] : [`${f}: no Status line`], /^Date: \d{4}-\d{2}-\d{2}\b/m.test(head) ? [] : [`${f}: no Date line`]].flat();
  });
  assert.deepEqual(missing, []);
});

test('no source, test, chart or doc cites "SPEC §N": the behaviour is in docs/behaviour.md', () => {
  const folders = ['workflows', 'activities', 'watcher', 'worker', 'cli', 'tools', 'bin', 'test', 'deploy', 'docs'];
  const citing = folders
    .flatMap((f) => files(join(root, f), /\.(ts|js|md|ya?ml|sh)$/))
    .filter((path) => /\bSPEC §\d/.test(readFileSync(path, 'utf8')))
    .map((path) => path.slice(root.length));
  assert.deepEqual(citing, []);
});
