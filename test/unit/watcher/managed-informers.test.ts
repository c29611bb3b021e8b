import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CLUSTER_PROFILE, secretNameFor } from '../../../activities/kube/types.js';
import type { ManagedMeta, ReflectorEvent } from '../../../watcher/informers.js';
import { claimingProfile, driftResync } from '../../../watcher/managed-informers.js';
import { newTracked, type Tracked } from '../../../watcher/tracked.js';

const REF = { namespace: 'fleet', name: 'spoke-1', uid: 'uid-1' };
const SNAP = { resourceVersion: '1', generation: 1, observedHash: 'h', providerCount: 1, deleting: false };
const profiles = new Map<string, Tracked>([['uid-1', newTracked(REF, SNAP, false)]]);
const lookup = (uid: string) => profiles.get(uid);

function secret(over: { namespace?: string; name?: string; owner?: string | undefined }): ManagedMeta {
  const owner = 'owner' in over ? over.owner : 'uid-1';
  return {
    metadata: {
      namespace: over.namespace ?? 'fleet',
      name: over.name ?? secretNameFor('spoke-1'),
      uid: 's-1',
      resourceVersion: '3',
      ...(owner ? { ownerReferences: [{ apiVersion: `${CLUSTER_PROFILE.group}/${CLUSTER_PROFILE.version}`, kind: CLUSTER_PROFILE.kind, name: 'spoke-1', uid: owner }] } : {}),
    },
  };
}

function event(object: ManagedMeta, old?: ManagedMeta): ReflectorEvent<ManagedMeta> {
  return { type: 'MODIFIED', object, ...(old ? { old } : {}), initial: false, via: 'watch' };
}

describe('claimingProfile (which live profile a managed-object event belongs to)', () => {
  test('the object we would write for the profile: its namespace, its name, its owner uid', () => {
    assert.equal(claimingProfile('Secret', event(secret({})), lookup)?.ref.uid, 'uid-1');
  });

  test('an owner claim elsewhere, under another name, or for an unknown uid belongs to nobody', () => {
    assert.equal(claimingProfile('Secret', event(secret({ namespace: 'other' })), lookup), undefined);
    assert.equal(claimingProfile('Secret', event(secret({ name: 'copy' })), lookup), undefined);
    assert.equal(claimingProfile('Secret', event(secret({ owner: 'uid-unknown' })), lookup), undefined);
    // A SveltosCluster is named after the profile, not after the Secret.
    assert.equal(claimingProfile('SveltosCluster', event(secret({})), lookup), undefined);
  });

  test('an owner removed is still the profile\'s event (the previous state counts): that is drift to repair', () => {
    assert.equal(claimingProfile('Secret', event(secret({ owner: undefined }), secret({})), lookup)?.ref.uid, 'uid-1');
  });

  test('driftResync names the kind that drifted', () => {
    assert.deepEqual(driftResync('Secret', 'fleet/x'), { reason: 'managed-secret-changed', object: 'fleet/x' });
    assert.deepEqual(driftResync('SveltosCluster', 'fleet/x'), { reason: 'managed-sveltoscluster-changed', object: 'fleet/x' });
  });
});
