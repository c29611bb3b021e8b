// /healthz and /readyz (worker/health.ts): readiness follows its checks, a check that throws or hangs
// counts as failing, and the response names what is not ready.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { failingChecks, startHealthServer } from '../../worker/health.js';

describe('readiness checks', () => {
  test('failing, throwing and hanging checks are named; passing ones are not', async () => {
    const failing = await failingChecks(
      {
        kubernetes: () => true,
        temporal: () => new Promise<boolean>(() => undefined), // never answers
        informers: () => false,
        worker: () => {
          throw new Error('boom');
        },
        async: () => Promise.resolve(true),
      },
      50,
    );
    assert.deepEqual(failing.sort(), ['informers', 'temporal', 'worker']);
  });

  test('/readyz flips with its checks; /healthz does not depend on them', async () => {
    let temporalUp = true;
    const health = await startHealthServer({ host: '127.0.0.1', port: 0 }, { kubernetes: () => true, temporal: () => temporalUp }, { checkTimeoutMs: 1_000 });
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${health.port}${path}`);
      return { status: res.status, body: await res.text() };
    };
    try {
      assert.deepEqual(await get('/readyz'), { status: 200, body: 'ok\n' });
      temporalUp = false;
      assert.deepEqual(await get('/readyz'), { status: 503, body: 'not ready: temporal\n' });
      assert.equal((await get('/healthz')).status, 200);
      assert.equal((await get('/readyz?verbose')).status, 503, 'query strings are ignored');
      temporalUp = true;
      assert.equal((await get('/readyz')).status, 200, 'ready again');
      assert.equal((await get('/nope')).status, 404);
    } finally {
      await health.close();
    }
  });
});
