import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { carriedAccessProviders, chooseProvider } from '../../../activities/profile/model.js';
import { NO_PROVIDER_FILE } from '../../../activities/credentials/provider-file.js';
import { InvalidInputError } from '../../../activities/errors.js';
import type { AccessProvider } from '../../../activities/kube/types.js';
import { execProvider, profile, providerFile, thrown } from './fixtures.js';

const ap = (name: string, server = `https://${name}.example:6443`): AccessProvider => ({ name, cluster: { server } });

void describe('chooseProvider', () => {
  const file = providerFile(execProvider('gke'), execProvider('aks'), execProvider('eks'));

  void test('the first provider in provider-file order wins, whatever the profile order', () => {
    const choice = chooseProvider(profile({ accessProviders: [ap('eks'), ap('aks'), ap('unknown')] }), file);
    assert.equal(choice.kind, 'exec');
    assert.equal(choice.provider.name, 'aks');
    assert.equal(choice.field, 'status.accessProviders[1]');
    assert.ok(choice.kind === 'exec' && choice.config === file.providers[1]);
  });

  void test('kubeconfig-secretreader uses the built-in path before any file provider', () => {
    const choice = chooseProvider(profile({ accessProviders: [ap('gke'), ap('kubeconfig-secretreader')] }), file);
    assert.equal(choice.kind, 'secret-reader');
    assert.equal(choice.provider.name, 'kubeconfig-secretreader');
    assert.equal(choice.field, 'status.accessProviders[1]');
  });

  void test('kubeconfig-secretreader works without a provider file', () => {
    const choice = chooseProvider(profile({ credentialProviders: [ap('kubeconfig-secretreader')] }), NO_PROVIDER_FILE);
    assert.equal(choice.kind, 'secret-reader');
    assert.equal(choice.field, 'status.credentialProviders[0]');
  });

  void test('deprecated credentialProviders are used when accessProviders lacks the name', () => {
    const choice = chooseProvider(profile({ accessProviders: [ap('other')], credentialProviders: [ap('x'), ap('eks')] }), file);
    assert.equal(choice.provider.name, 'eks');
    assert.equal(choice.field, 'status.credentialProviders[1]');
  });

  void test('a credentialProviders entry earlier in file order still beats a later accessProviders one', () => {
    const choice = chooseProvider(profile({ accessProviders: [ap('eks')], credentialProviders: [ap('gke')] }), file);
    assert.equal(choice.provider.name, 'gke');
  });

  void test('on equal name, accessProviders wins over credentialProviders', () => {
    const p = profile({
      accessProviders: [ap('aks', 'https://new.example:443')],
      credentialProviders: [ap('aks', 'https://old.example:443')],
    });
    const choice = chooseProvider(p, file);
    assert.equal(choice.provider.cluster?.server, 'https://new.example:443');
    assert.equal(choice.field, 'status.accessProviders[0]');
    assert.deepEqual(
      carriedAccessProviders(p).map((c) => c.field),
      ['status.accessProviders[0]'],
    );
  });

  void test('carried providers: accessProviders first, then unshadowed credentialProviders', () => {
    const carried = carriedAccessProviders(profile({ accessProviders: [ap('a'), ap('b')], credentialProviders: [ap('b'), ap('c')] }));
    assert.deepEqual(
      carried.map((c) => [c.provider.name, c.field]),
      [
        ['a', 'status.accessProviders[0]'],
        ['b', 'status.accessProviders[1]'],
        ['c', 'status.credentialProviders[1]'],
      ],
    );
  });

  void test('no match: "no supported access provider" naming the profile and the providers it carries', () => {
    const err = thrown(() =>
      chooseProvider(profile({ name: 'spoke-9', namespace: 'team-a', accessProviders: [ap('open-cluster-management')], credentialProviders: [ap('legacy')] }), file),
    );
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /no supported access provider/);
    assert.ok(err.message.includes('ClusterProfile team-a/spoke-9'));
    assert.ok(err.message.includes('"open-cluster-management"') && err.message.includes('"legacy"'));
    assert.ok(err.message.includes('"gke"'), 'also says what is supported');
  });

  void test('a profile without any provider gets the same error', () => {
    const err = thrown(() => chooseProvider(profile({}), NO_PROVIDER_FILE));
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /no supported access provider.*carries none/);
  });
});
