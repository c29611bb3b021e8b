import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SourceSecretIndex } from '../../../watcher/source-index.js';

describe('SourceSecretIndex', () => {
  test('maps a Secret to every profile that reads it', () => {
    const idx = new SourceSecretIndex();
    idx.set('uid-1', [{ namespace: 'fleet', name: 'src' }]);
    idx.set('uid-2', [{ namespace: 'fleet', name: 'src' }]);
    idx.set('uid-3', [{ namespace: 'fleet', name: 'other' }]);
    assert.deepEqual(idx.profilesUsing('fleet/src').sort(), ['uid-1', 'uid-2']);
    assert.deepEqual(idx.profilesUsing('fleet/other'), ['uid-3']);
    assert.deepEqual(idx.profilesUsing('fleet/none'), []);
    assert.deepEqual(idx.secretsOf('uid-1'), ['fleet/src']);
  });

  test('reports namespaces that start and stop needing an informer', () => {
    const idx = new SourceSecretIndex();
    assert.deepEqual(idx.set('uid-1', [{ namespace: 'fleet', name: 'a' }]), { addedNamespaces: ['fleet'], removedNamespaces: [] });
    assert.deepEqual(idx.set('uid-2', [{ namespace: 'fleet', name: 'b' }, { namespace: 'shared', name: 'c' }]), {
      addedNamespaces: ['shared'],
      removedNamespaces: [],
    });
    // uid-1 moves to another Secret in the same namespace: no informer change.
    assert.deepEqual(idx.set('uid-1', [{ namespace: 'fleet', name: 'z' }]), { addedNamespaces: [], removedNamespaces: [] });
    assert.deepEqual(idx.profilesUsing('fleet/a'), []);
    assert.deepEqual(idx.profilesUsing('fleet/z'), ['uid-1']);
    assert.deepEqual(idx.delete('uid-2'), { addedNamespaces: [], removedNamespaces: ['shared'] });
    assert.deepEqual(idx.delete('uid-1'), { addedNamespaces: [], removedNamespaces: ['fleet'] });
    assert.deepEqual(idx.namespaces(), []);
  });

  test('a profile that stops using the secret reader is forgotten', () => {
    const idx = new SourceSecretIndex();
    idx.set('uid-1', [{ namespace: 'fleet', name: 'a' }]);
    idx.set('uid-1', []);
    assert.deepEqual(idx.profilesUsing('fleet/a'), []);
    assert.deepEqual(idx.secretsOf('uid-1'), []);
    assert.deepEqual(idx.namespaces(), []);
  });

  test('duplicate refs count once', () => {
    const idx = new SourceSecretIndex();
    idx.set('uid-1', [{ namespace: 'fleet', name: 'a' }, { namespace: 'fleet', name: 'a' }]);
    assert.deepEqual(idx.delete('uid-1'), { addedNamespaces: [], removedNamespaces: ['fleet'] });
  });
});
