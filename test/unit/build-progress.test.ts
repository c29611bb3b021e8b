import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildTimesFile, progressLine, readBuildTimes, recordBuildTime, withBuildProgress } from '../../tools/stack/build-progress.js';

const dirs: string[] = [];
async function cacheDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'build-progress-'));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('build durations', () => {
  test('are recorded per target, keeping the slowest', async () => {
    const root = await cacheDir();
    await recordBuildTime('kubetestenv', 900_000, root);
    await recordBuildTime('kubetestenv', 11_000, root);
    await recordBuildTime('temporal-cli', 600_000, root);
    const times = readBuildTimes(root);
    assert.equal(times.kubetestenv?.durationMs, 11_000);
    assert.equal(times.kubetestenv?.longestMs, 900_000);
    assert.equal(times['temporal-cli']?.durationMs, 600_000);
  });

  test('a damaged file only loses the estimate', async () => {
    const root = await cacheDir();
    await writeFile(buildTimesFile(root), '{not json');
    assert.deepEqual(readBuildTimes(root), {});
    await writeFile(buildTimesFile(root), JSON.stringify({ a: { durationMs: 'x' }, b: { durationMs: 5000, at: 'then' } }));
    assert.deepEqual(readBuildTimes(root), { b: { durationMs: 5000, at: 'then', longestMs: 5000 } });
  });
});

describe('progress lines', () => {
  const last = { durationMs: 600_000, at: 'then', longestMs: 600_000 };

  test('elapsed and what is left, from the last build', () => {
    assert.equal(progressLine('kube', 120_000, last), 'building kube: 2m elapsed, about 8m left (the last build took 10m)');
  });

  test('past the last build, the slowest recorded still bounds it', () => {
    const relinked = { durationMs: 11_000, at: 'then', longestMs: 900_000 };
    assert.match(progressLine('kube', 60_000, relinked), /longer than the last build \(11s\); at most about 14m left if it is as slow as the slowest recorded \(15m\)/);
    assert.match(progressLine('kube', 1_000_000, relinked), /longer than any recorded build \(15m\); still working/);
  });

  test('without a record it says so', () => {
    assert.match(progressLine('kube', 30_000, undefined), /30s elapsed \(no earlier build recorded on this machine\)/);
  });

  test('a build reports while it runs and records its duration once it succeeds', async () => {
    const root = await cacheDir();
    const lines: string[] = [];
    const out = await withBuildProgress({ target: 't', what: 'thing', coldHint: 'COLD', intervalMs: 5, root, say: (l) => lines.push(l) }, async () => {
      await new Promise((r) => setTimeout(r, 40));
      return 'bin';
    });
    assert.equal(out, 'bin');
    assert.match(lines[0]!, /^building thing — once per machine; later runs reuse it and start in seconds\. COLD$/);
    assert.ok(lines.some((l) => /^building thing: \d+s elapsed/.test(l)), lines.join('\n'));
    assert.match(lines.at(-1)!, /^built thing in \d+s$/);
    assert.ok(readBuildTimes(root).t);
    const lines2: string[] = [];
    await withBuildProgress({ target: 't', what: 'thing', coldHint: 'COLD', root, say: (l) => lines2.push(l) }, () => Promise.resolve());
    assert.match(lines2[0]!, /The last build here took \d+s\.$/);
  });

  test('a failed build records nothing', async () => {
    const root = await cacheDir();
    await assert.rejects(withBuildProgress({ target: 't', what: 'x', coldHint: '', root, say: () => undefined }, () => Promise.reject(new Error('go build failed'))), /go build failed/);
    await assert.rejects(readFile(buildTimesFile(root)));
  });
});
