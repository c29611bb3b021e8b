import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClusterProfile } from '../../../activities/kube/types.js';
import { carriedAccessProviders, profileRef } from '../../../activities/profile/model.js';
import {
  canonicalJson,
  observedHashOf,
  safeSnapshotOf,
  snapshotOf,
  sourceSecretOf,
} from '../../../watcher/snapshot.js';

function profile(): ClusterProfile {
  return {
    apiVersion: 'multicluster.x-k8s.io/v1alpha1',
    kind: 'ClusterProfile',
    metadata: {
      name: 'spoke-1',
      namespace: 'fleet',
      uid: 'uid-1',
      resourceVersion: '10',
      generation: 1,
      labels: { env: 'prod', region: 'eu' },
      annotations: { note: 'x' },
      finalizers: ['clusterinventory.projectsveltos.io/finalizer'],
      managedFields: [{ manager: 'a', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: {} }],
    },
    spec: { displayName: 'Spoke 1', clusterManager: { name: 'ocm' } },
    status: {
      conditions: [{ type: 'ControlPlaneHealthy', status: 'True', reason: 'Healthy', message: 'ok', lastTransitionTime: new Date(0) }],
      version: { kubernetes: '1.36.2' },
      properties: [{ name: 'region', value: 'eu-1' }],
      accessProviders: [
        {
          name: 'kubeconfig-secretreader',
          cluster: {
            server: 'https://10.0.0.1:6443',
            'certificate-authority-data': 'Q0E=',
            extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { name: 'src', key: 'kubeconfig' } }],
          },
        },
      ],
    },
  };
}

function changed(mutate: (p: ClusterProfile) => void): string {
  const p = profile();
  mutate(p);
  return observedHashOf(p);
}

describe('observedHash', () => {
  const base = observedHashOf(profile());

  test('is a sha256 hex digest and deterministic', () => {
    assert.match(base, /^[0-9a-f]{64}$/);
    assert.equal(observedHashOf(profile()), base);
  });

  const irrelevant: Array<[string, (p: ClusterProfile) => void]> = [
    ['status.conditions', (p) => (p.status!.conditions = [])],
    ['status.conditions null (as Go writes it)', (p) => (p.status!.conditions = null)],
    ['status.properties', (p) => (p.status!.properties = [{ name: 'region', value: 'us-1' }])],
    ['status.version', (p) => (p.status!.version = { kubernetes: '1.37.0' })],
    ['resourceVersion', (p) => (p.metadata.resourceVersion = '11')],
    ['generation', (p) => (p.metadata.generation = 2)],
    ['managedFields', (p) => (p.metadata.managedFields = [])],
    ['annotations', (p) => (p.metadata.annotations = { other: 'y' })],
    ['finalizers', (p) => (p.metadata.finalizers = [])],
    ['spec.clusterManager', (p) => (p.spec.clusterManager = { name: 'other' })],
    ['label key order', (p) => (p.metadata.labels = { region: 'eu', env: 'prod' })],
    [
      'key order inside a provider',
      (p) =>
        (p.status!.accessProviders = [
          {
            cluster: {
              extensions: [{ extension: { key: 'kubeconfig', name: 'src' }, name: 'client.authentication.k8s.io/exec' }],
              'certificate-authority-data': 'Q0E=',
              server: 'https://10.0.0.1:6443',
            },
            name: 'kubeconfig-secretreader',
          },
        ]),
    ],
    ['credentialProviders null vs absent', (p) => (p.status!.credentialProviders = null as unknown as [])],
    ['credentialProviders empty vs absent', (p) => (p.status!.credentialProviders = [])],
  ];
  for (const [what, mutate] of irrelevant) {
    test(`ignores ${what}`, () => assert.equal(changed(mutate), base));
  }

  test('treats an empty displayName like an absent one', () => {
    assert.equal(
      changed((p) => (p.spec.displayName = '')),
      changed((p) => delete p.spec.displayName),
    );
  });

  test('treats absent labels like empty ones', () => {
    assert.equal(
      changed((p) => delete p.metadata.labels),
      changed((p) => (p.metadata.labels = {})),
    );
  });

  const relevant: Array<[string, (p: ClusterProfile) => void]> = [
    ['a label value', (p) => (p.metadata.labels = { env: 'dev', region: 'eu' })],
    ['a label added', (p) => (p.metadata.labels = { env: 'prod', region: 'eu', tier: '1' })],
    ['a label removed', (p) => (p.metadata.labels = { env: 'prod' })],
    ['spec.displayName', (p) => (p.spec.displayName = 'Spoke One')],
    ['the server of a provider', (p) => (p.status!.accessProviders![0]!.cluster!.server = 'https://10.0.0.2:6443')],
    ['the CA of a provider', (p) => (p.status!.accessProviders![0]!.cluster!['certificate-authority-data'] = 'Q0I=')],
    [
      'the exec extension (another source Secret)',
      (p) => (p.status!.accessProviders![0]!.cluster!.extensions = [{ name: 'client.authentication.k8s.io/exec', extension: { name: 'src2', key: 'kubeconfig' } }]),
    ],
    ['a second access provider', (p) => p.status!.accessProviders!.push({ name: 'token', cluster: { server: 'https://x' } })],
    ['the deprecated credentialProviders', (p) => (p.status!.credentialProviders = [{ name: 'token', cluster: { server: 'https://x' } }])],
    ['accessProviders removed', (p) => delete p.status!.accessProviders],
    ['deletion (deletionTimestamp)', (p) => (p.metadata.deletionTimestamp = new Date(5))],
  ];
  for (const [what, mutate] of relevant) {
    test(`changes with ${what}`, () => assert.notEqual(changed(mutate), base));
  }
});

/** An extension nested `depth` levels deep: {"a":{"a":…{"leaf":true}}}. */
function deepObject(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe('profile content of any depth or size', () => {
  test('canonicalJson of a 100,000-deep extension does not overflow the stack, and matches JSON.stringify', () => {
    const deep = deepObject(100_000);
    const text = canonicalJson(deep);
    assert.equal(text.length, '{"a":'.length * 100_000 + '{"leaf":true}'.length + 100_000);
    assert.ok(text.startsWith('{"a":{"a":'));
    assert.equal(canonicalJson(deepObject(50)), JSON.stringify(deepObject(50)));
  });

  test('snapshotOf a profile with a 5,000-deep extension: a hash, no stack overflow', () => {
    const p = profile();
    p.status!.accessProviders = [
      { name: 'kubeconfig-secretreader', cluster: { server: 'https://x', extensions: [{ name: 'client.authentication.k8s.io/exec', extension: deepObject(5000) }] } },
    ];
    const s = snapshotOf(p);
    assert.match(s.observedHash, /^[0-9a-f]{64}$/);
    assert.equal(s.providerCount, 1);
    assert.deepEqual(sourceSecretOf(p, ['*']).kind, 'refused', 'the watcher follows no Secret of a profile the activity refuses');
  });

  test('400 provider names of 1,000 characters: the snapshot stays a few hundred bytes', () => {
    const p = profile();
    p.status!.accessProviders = Array.from({ length: 400 }, (_, i) => ({ name: `${String(i).padStart(4, '0')}${'n'.repeat(996)}`, cluster: { server: 'https://x' } }));
    const s = snapshotOf(p);
    assert.equal(s.providerCount, 400);
    assert.ok(JSON.stringify(s).length < 300, JSON.stringify(s));
  });

  test('safeSnapshotOf: a profile that cannot be read still gets a snapshot (changes with its resourceVersion)', () => {
    const p = profile();
    Object.defineProperty(p.metadata, 'labels', { get: () => { throw new RangeError('Maximum call stack size exceeded'); } });
    const a = safeSnapshotOf(p);
    assert.match(a.error ?? '', /Maximum call stack/);
    assert.equal(a.snapshot.providerCount, 1, 'the workflow syncs, and the activity reports what is wrong');
    p.metadata.resourceVersion = '11';
    assert.notEqual(safeSnapshotOf(p).snapshot.observedHash, a.snapshot.observedHash);
    assert.equal(safeSnapshotOf(profile()).error, undefined);
  });
});

describe('canonicalJson', () => {
  test('sorts keys at every depth, drops undefined and null members, keeps array order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: null, e: undefined } }), '{"a":{"d":[2,1]},"b":1}');
    assert.equal(canonicalJson([null, 'x']), '[null,"x"]');
  });
});

describe('snapshotOf', () => {
  test('carries resourceVersion, generation, hash, the provider count (never the names) and deletion', () => {
    const p = profile();
    p.status!.credentialProviders = [
      { name: 'kubeconfig-secretreader', cluster: { server: 'https://old' } },
      { name: 'legacy-plugin', cluster: { server: 'https://legacy' } },
    ];
    const s = snapshotOf(p);
    assert.deepEqual(s, {
      resourceVersion: '10',
      generation: 1,
      observedHash: observedHashOf(p),
      providerCount: 2,
      deleting: false,
    });
    p.metadata.deletionTimestamp = new Date(5);
    assert.equal(snapshotOf(p).deleting, true);
  });

  test('defaults for a bare object', () => {
    const s = snapshotOf({ metadata: { name: 'x', namespace: 'y' }, spec: { clusterManager: { name: 'm' } } });
    assert.equal(s.resourceVersion, '');
    assert.equal(s.generation, 0);
    assert.equal(s.providerCount, 0);
    assert.equal(s.deleting, false);
  });

  test('profileRef', () => {
    assert.deepEqual(profileRef(profile()), { namespace: 'fleet', name: 'spoke-1', uid: 'uid-1' });
  });

  test('accessProviders win over credentialProviders of the same name', () => {
    const p = profile();
    p.status!.credentialProviders = [{ name: 'kubeconfig-secretreader', cluster: { server: 'https://old' } }];
    assert.equal(carriedAccessProviders(p)[0]?.provider.cluster?.server, 'https://10.0.0.1:6443');
  });
});

describe('sourceSecretOf (the profile model, as the activity validates it)', () => {
  const withExtension = (extension: unknown, providerName = 'kubeconfig-secretreader'): ClusterProfile => {
    const p = profile();
    p.status!.accessProviders = [
      { name: providerName, cluster: { server: 'https://x', extensions: [{ name: 'client.authentication.k8s.io/exec', extension }] } },
    ];
    return p;
  };
  const source = (namespace: string, name: string, key: string) => ({ kind: 'source', ref: { namespace, name, key } });

  test("defaults the namespace to the profile's", () => {
    assert.deepEqual(sourceSecretOf(profile(), []), source('fleet', 'src', 'kubeconfig'));
  });

  test('honours an explicit namespace when the allow-list admits it', () => {
    assert.deepEqual(sourceSecretOf(withExtension({ name: 's', key: 'k', namespace: 'shared' }), ['shared']), source('shared', 's', 'k'));
    assert.deepEqual(sourceSecretOf(withExtension({ name: 's', key: 'k', namespace: 'shared' }), ['*']), source('shared', 's', 'k'));
  });

  test('a namespace outside the allow-list is refused, naming the flag', () => {
    const v = sourceSecretOf(withExtension({ name: 's', key: 'k', namespace: 'kube-system' }), []);
    assert.equal(v.kind, 'refused');
    assert.match(v.kind === 'refused' ? v.reason : '', /ClusterProfile fleet\/spoke-1: .*\.namespace: reading Secret kube-system\/s is refused.*--secret-reader-namespaces/);
  });

  test('an empty namespace means the profile namespace', () => {
    assert.deepEqual(sourceSecretOf(withExtension({ name: 's', key: 'k', namespace: '' }), []), source('fleet', 's', 'k'));
  });

  test('only the kubeconfig-secretreader provider reads a Secret', () => {
    assert.deepEqual(sourceSecretOf(withExtension({ name: 's', key: 'k' }, 'token-plugin'), ['*']), { kind: 'none' });
  });

  test('falls back to the deprecated credentialProviders', () => {
    const p = profile();
    p.status!.credentialProviders = p.status!.accessProviders;
    delete p.status!.accessProviders;
    assert.deepEqual(sourceSecretOf(p, []), source('fleet', 'src', 'kubeconfig'));
  });

  test('accessProviders win over credentialProviders', () => {
    const p = withExtension({ name: 'new', key: 'k' });
    p.status!.credentialProviders = [
      { name: 'kubeconfig-secretreader', cluster: { server: 'https://x', extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { name: 'old', key: 'k' } }] } },
    ];
    assert.deepEqual(sourceSecretOf(p, []), source('fleet', 'new', 'k'));
  });

  test('what the activity refuses is not watched: bad shapes, no key, invalid names', () => {
    for (const ext of [undefined, null, 'src', ['a'], {}, { name: '' }, { name: 7, key: 'k' }, { name: 's' }, { name: 'S_', key: 'k' }, { name: 's', key: 'k', namespace: 'Not_A_Namespace' }]) {
      assert.equal(sourceSecretOf(withExtension(ext), ['*']).kind, 'refused', JSON.stringify(ext));
    }
    const p = profile();
    p.status!.accessProviders![0]!.cluster!.extensions = 'nope' as unknown as [];
    assert.equal(sourceSecretOf(p, ['*']).kind, 'refused');
  });

  test('a repeated extension is refused: one source per profile, never one per entry', () => {
    const p = profile();
    p.status!.accessProviders![0]!.cluster!.extensions = Array.from({ length: 5000 }, (_, i) => ({
      name: 'client.authentication.k8s.io/exec',
      extension: { name: `s-${i}`, key: 'k', namespace: `ns-${i}` },
    }));
    const v = sourceSecretOf(p, ['*']);
    assert.equal(v.kind, 'refused');
    assert.match(v.kind === 'refused' ? v.reason : '', /appears 5000 times; names must be unique/);
  });
});
