// What one ClusterProfile's author can cost everyone else, end to end on the real stack:
//  - history: a change of a profile carrying 400 access provider names of 1,000 characters grows its
//    workflow history by at most HISTORY_BUDGET_BYTES (the signal and start input carry a hash and a
//    count, never the lists);
//  - sync amplification: 60 status patches within 7 s on one exec-provider profile run its plugin at
//    most STORM_MAX_RUNS times (the watcher's per-profile rate limit, --change-sync-interval/-burst),
//    and the last state is still synced.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AccessProvider, ClusterProfile } from '../../activities/kube/types.js';
import { E2E, secretReaderProvider, spokeKubeconfig } from '../support/e2e.js';
import { eventually, uniqueName } from '../support/stack.js';

const V1 = 'client.authentication.k8s.io/v1';
const TIMEOUT_MS = 120_000;
/** Per profile change, whatever the profile holds. */
const HISTORY_BUDGET_BYTES = 4096;
const STORM_PATCHES = 60;
const STORM_WINDOW_MS = 7000;
/**
 * Default limit: a burst of 3, then one per 5 s. Over a 7 s storm: the burst left after the first sync,
 * one or two refills, and the trailing edge; the margin absorbs a slow machine stretching the storm.
 * Without the limit the same storm made ~37 runs.
 */
const STORM_MAX_RUNS = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('input budgets (history per change, plugin runs per storm)', () => {
  const e2e = new E2E();
  let runsFile: string;

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ci-budget-plugin-'));
    runsFile = join(dir, 'runs.log');
    await writeFile(runsFile, '');
    const plugin = join(dir, 'count.sh');
    await writeFile(
      plugin,
      ['#!/bin/sh', `echo run >> "${runsFile}"`, `printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"storm-token-%s"}}' "$$"`, ''].join('\n'),
    );
    await chmod(plugin, 0o755);
    await e2e.start({
      providers: { providers: [{ name: 'e2e-storm', execConfig: { command: plugin, args: [], env: [], apiVersion: V1, provideClusterInfo: false } }] },
      flags: ['--sync-period', '1h'],
    });
  });

  after(async () => e2e.stop());

  async function historyBytes(profile: ClusterProfile): Promise<{ bytes: number; length: number }> {
    const d = await e2e.workflow(profile).describe();
    // A Long in the raw response: its decimal string is exact.
    return { bytes: Number(String(d.raw.workflowExecutionInfo?.historySizeBytes ?? 0)), length: d.historyLength };
  }

  /** Waits until the workflow has synced `syncCount` times and its history stopped growing. */
  async function settled(profile: ClusterProfile, syncCount: number): Promise<{ bytes: number; length: number }> {
    await eventually(`sync #${syncCount} of ${profile.metadata?.name}`, async () => ((await e2e.status(profile)).syncCount >= syncCount ? true : undefined), TIMEOUT_MS);
    let last = await historyBytes(profile);
    for (;;) {
      await sleep(1500);
      const now = await historyBytes(profile);
      if (now.length === last.length) return now;
      last = now;
    }
  }

  test(`a label change of a profile with 400 provider names of 1,000 characters grows history by at most ${HISTORY_BUDGET_BYTES} bytes`, async (t) => {
    const name = uniqueName('budget');
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('budget-token-1') });
    const filler: AccessProvider[] = Array.from({ length: 399 }, (_, i) => ({
      name: `unused-${String(i).padStart(3, '0')}-${'n'.repeat(989)}`,
      cluster: { server: 'https://unused.example:6443' },
    }));
    assert.equal(filler[0]?.name.length, 1000);
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`), ...filler]);
    await e2e.waitForPhase(profile, 'Ready', TIMEOUT_MS);
    const before = await settled(profile, 1);
    const startSyncs = (await e2e.status(profile)).syncCount;

    await e2e.patchProfile(name, { metadata: { labels: { budget: 'changed-once' } } });
    const once = await settled(profile, startSyncs + 1);
    await e2e.patchProfile(name, { metadata: { labels: { budget: 'changed-twice' } } });
    const twice = await settled(profile, startSyncs + 2);

    const first = once.bytes - before.bytes;
    const second = twice.bytes - once.bytes;
    t.diagnostic(`history: ${before.bytes} B after the first sync, +${first} B (+${once.length - before.length} events) for one label change, +${second} B for the next`);
    assert.ok(before.bytes > 0, 'historySizeBytes is reported');
    assert.ok(first > 0 && second > 0, 'each change was recorded');
    assert.ok(first <= HISTORY_BUDGET_BYTES, `one label change added ${first} bytes of history`);
    assert.ok(second <= HISTORY_BUDGET_BYTES, `the next label change added ${second} bytes of history`);
    assert.ok(before.bytes <= 16 * 1024, `the start (input, first sync) stays small too: ${before.bytes} bytes`);
    await e2e.deleteProfile(name);
    await e2e.waitForGone(name, TIMEOUT_MS);
  });

  test(`${STORM_PATCHES} status patches within ${STORM_WINDOW_MS / 1000} s run the plugin at most ${STORM_MAX_RUNS} times, and the last state is synced`, async (t) => {
    const name = uniqueName('storm');
    const provider = (seq: number): AccessProvider => ({
      name: 'e2e-storm',
      cluster: { server: 'https://storm.example:6443', extensions: [{ name: 'example.com/storm', extension: { seq } }] },
    });
    const profile = await e2e.createProfile(name, [provider(0)]);
    await e2e.waitForPhase(profile, 'Ready', TIMEOUT_MS);
    await settled(profile, 1);
    const runsBefore = (await readFile(runsFile, 'utf8')).split('\n').filter(Boolean).length;

    const started = Date.now();
    for (let i = 1; i <= STORM_PATCHES; i++) {
      await e2e.setProviders(name, [provider(i)]);
      const due = started + (i * STORM_WINDOW_MS) / STORM_PATCHES;
      if (due > Date.now()) await sleep(due - Date.now());
    }
    const stormMs = Date.now() - started;
    const finalVersion = (await e2e.getProfile(name))?.metadata?.resourceVersion;
    assert.ok(finalVersion);
    // The trailing edge: the last patch is synced.
    const status = await eventually(
      'the last patch synced',
      async () => {
        const s = await e2e.status(profile);
        return s.observedResourceVersion === finalVersion && s.phase === 'Ready' ? s : undefined;
      },
      TIMEOUT_MS,
    );
    await settled(profile, status.syncCount);
    const runs = (await readFile(runsFile, 'utf8')).split('\n').filter(Boolean).length - runsBefore;
    t.diagnostic(`${STORM_PATCHES} status patches in ${stormMs} ms: ${runs} plugin runs, ${status.syncCount} syncs in all`);
    assert.ok(stormMs < STORM_WINDOW_MS * 2, `the storm took ${stormMs} ms (machine too slow to make a storm)`);
    assert.ok(runs >= 1, 'the storm made at least one sync');
    assert.ok(runs <= STORM_MAX_RUNS, `${runs} plugin runs for ${STORM_PATCHES} status patches`);
    await e2e.deleteProfile(name);
    await e2e.waitForGone(name, TIMEOUT_MS);
  });
});
