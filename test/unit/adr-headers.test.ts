// Every ADR says whether it still holds and since when: a `Status:` line and a `Date:` line under its title.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

const dir = new URL('../../docs/adr/', import.meta.url);

test('every ADR has a Status line and a Date line (YYYY-MM-DD) before its first section', () => {
  const files = readdirSync(dir).filter((f) => /^\d{4}-.+\.md$/.test(f));
  assert.ok(files.length >= 11, `found ${files.length} ADRs`);
  const missing = files.flatMap((f) => {
    const head = readFileSync(new URL(f, dir), 'utf8').split(/^## /m)[0]!;
    return [/^Status: \S/m.test(head) ? [] : [`${f}: no Status line`], /^Date: \d{4}-\d{2}-\d{2}\b/m.test(head) ? [] : [`${f}: no Date line`]].flat();
  });
  assert.deepEqual(missing, []);
});
