// The local stack's server ports must survive a restart: a port in the kernel's ephemeral range can be taken
// by any outgoing connection while its server is down (CI saw the Temporal metrics port taken after
// `down`/`up`), so the stack picks its ports below that range.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ephemeralPortRange, portIsFree, stablePort } from '../../tools/stack/processes.js';

test('the ephemeral range is read from the kernel, and is absent when it cannot be', () => {
  assert.deepEqual(ephemeralPortRange(() => '32768\t60999\n'), { low: 32768, high: 60999 });
  assert.equal(ephemeralPortRange(() => 'nonsense'), undefined);
  assert.equal(
    ephemeralPortRange(() => {
      throw new Error('ENOENT');
    }),
    undefined,
  );
});

test('a stable port lies below the ephemeral range, is free, and is not one already taken', async () => {
  const range = { low: 32768, high: 60999 };
  for (let i = 0; i < 20; i++) {
    const p = await stablePort(new Set(), range);
    assert.ok(p >= 10_000 && p < range.low, `port ${p}`);
    assert.ok(await portIsFree(p));
  }
  // A port already reserved for another server of the stack is skipped.
  const reserved = 10_000 + Math.floor(0.5 * (range.low - 10_000));
  const draws = [0.5, 0.5, 0.75];
  const p = await stablePort(new Set([reserved]), range, () => draws.shift() ?? 0.25);
  assert.equal(p, 10_000 + Math.floor(0.75 * (range.low - 10_000)));
});

test('without a known range (or no room below it) any free port is taken', async () => {
  const p = await stablePort(new Set(), undefined);
  assert.ok(p > 0 && p < 65536);
  const q = await stablePort(new Set(), { low: 10_500, high: 60999 });
  assert.ok(q > 0 && q < 65536);
});
