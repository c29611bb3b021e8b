import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findOrphans, type OrphanScope } from '../../../watcher/orphans.js';
import type { RunningWorkflow } from '../../../watcher/signaler.js';

const LISTED_FROM = 10_000;

function wf(uid: string, over: Partial<RunningWorkflow> = {}): RunningWorkflow {
  return { workflowId: `clusterprofile/fleet/p-${uid}/${uid}`, runId: `run-${uid}`, running: true, startedAtMs: LISTED_FROM - 1, observedHash: `h-${uid}`, ...over };
}

function scope(over: Partial<OrphanScope> = {}): OrphanScope {
  return { isTracked: () => false, listedFromMs: LISTED_FROM, namespaces: [], ...over };
}

describe('findOrphans', () => {
  test('a workflow started before the latest complete list, for a uid missing from it, is an orphan: a gone profile as the workflow knew it', () => {
    const found = findOrphans(new Map([['u1', wf('u1')]]), scope());
    assert.equal(found.length, 1);
    assert.deepEqual(found[0]?.ref, { namespace: 'fleet', name: 'p-u1', uid: 'u1' });
    assert.deepEqual(found[0]?.snapshot, { resourceVersion: '', generation: 0, observedHash: 'h-u1', providerCount: 0, deleting: true });
    assert.equal(found[0]?.workflow.runId, 'run-u1');
  });

  test('nothing before every profile informer has listed (NaN) or with no informer (Infinity)', () => {
    const view = new Map([['u1', wf('u1')]]);
    assert.deepEqual(findOrphans(view, scope({ listedFromMs: Number.NaN })), []);
    assert.deepEqual(findOrphans(view, scope({ listedFromMs: Number.POSITIVE_INFINITY })), []);
  });

  test('not an orphan: a known profile, a run started at or after the list began, an unknown start, or one already cleaning up', () => {
    const view = new Map([
      ['known', wf('known')],
      ['late', wf('late', { startedAtMs: LISTED_FROM })],
      ['unknown-start', wf('unknown-start', { startedAtMs: undefined })],
      ['deleting', wf('deleting', { phase: 'Deleting' })],
      ['deleted', wf('deleted', { phase: 'Deleted' })],
      ['ready', wf('ready', { phase: 'Ready' })],
    ]);
    const found = findOrphans(view, scope({ isTracked: (uid) => uid === 'known' }));
    assert.deepEqual(found.map((o) => o.uid), ['ready']);
  });

  test('a workflow ID that is not ours, names another uid, or lies in a namespace this watcher does not list is left alone', () => {
    const view = new Map([
      ['foreign', wf('foreign', { workflowId: 'something-else' })],
      ['mismatch', wf('mismatch', { workflowId: 'clusterprofile/fleet/p/other-uid' })],
      ['elsewhere', wf('elsewhere', { workflowId: 'clusterprofile/team-b/p/elsewhere' })],
      ['mine', wf('mine')],
    ]);
    assert.deepEqual(findOrphans(view, scope({ namespaces: ['fleet'] })).map((o) => o.uid), ['mine']);
    assert.deepEqual(findOrphans(view, scope()).map((o) => o.uid).sort(), ['elsewhere', 'mine']);
  });

  test('no observed hash: the orphan\'s snapshot hash is empty (it never matches a real one)', () => {
    const [orphan] = findOrphans(new Map([['u1', wf('u1', { observedHash: undefined })]]), scope());
    assert.equal(orphan?.snapshot.observedHash, '');
  });
});
