// The real `clusterinventory` command refuses bad flags and bad provider files before it connects to
// anything: non-zero exit, and a message that names the flag, the file and the field.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const bin = fileURLToPath(new URL('../../bin/clusterinventory.js', import.meta.url));
// Nothing may be reached: a start-up that got past validation would fail on these instead.
const env = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', KUBECONFIG: '/nonexistent' };

function cli(...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: r.stderr };
}

describe('clusterinventory start-up validation', () => {
  test('a bad flag exits 2 naming the flag', () => {
    const r = cli('run', '--exec-timeout=forever');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--exec-timeout=forever: not a duration/);
  });

  test('a bad provider file exits 1 naming the path and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ci-startup-'));
    const file = join(dir, 'providers.json');
    writeFileSync(file, JSON.stringify({ providers: [{ name: 'p', execConfig: { command: '/bin/true', apiVersion: 'client.authentication.k8s.io/v1' }, profileSourcedCLIArgsPolicy: 'Sometimes' }] }));
    const r = cli('worker', '--clusterprofile-provider-file', file);
    assert.equal(r.status, 1);
    assert.ok(r.stderr.includes(file), r.stderr);
    assert.match(r.stderr, /providers\[0\]\.profileSourcedCLIArgsPolicy/);
  });

  test('a missing provider file exits 1 naming the flag and the path', () => {
    const r = cli('run', '--clusterprofile-provider-file', '/nonexistent/providers.json');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--clusterprofile-provider-file=\/nonexistent\/providers\.json: cannot read/);
  });
});
