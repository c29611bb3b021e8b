// Parity with the Go controller (its unit and FV behaviours that still apply), end to end: the real
// watcher and worker, the real kube-apiserver and the real Temporal dev server.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { DISPLAY_NAME_ANNOTATION, FINALIZER, MANAGED_BY_LABEL, MANAGED_BY_VALUE, secretNameFor } from '../../activities/kube/types.js';
import { refreshUpdate } from '../../workflows/api.js';
import { selectedContext, tokenIn } from '../support/kubeconfig-view.js';
import { E2E, secretReaderProvider, spokeKubeconfig } from '../support/e2e.js';
import { eventually, uniqueName } from '../support/stack.js';

describe('parity with the Go controller', () => {
  const e2e = new E2E();
  let pluginDir: string;

  before(async () => {
    pluginDir = await mkdtemp(join(tmpdir(), 'ci-plugin-'));
    const plugin = join(pluginDir, 'token-plugin.sh');
    await writeFile(
      plugin,
      '#!/bin/sh\nprintf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"plugin-token-7f3a"}}\'\n',
    );
    await chmod(plugin, 0o755);
    await e2e.start({
      providers: { providers: [{ name: 'e2e-exec-plugin', execConfig: { command: plugin, apiVersion: 'client.authentication.k8s.io/v1', args: [], env: [], provideClusterInfo: false } }] },
    });
  });
  after(async () => e2e.stop());

  test('secretreader: Secret and SveltosCluster with the seed names, labels, annotation and owner', async () => {
    const name = uniqueName('spoke');
    const source = spokeKubeconfig('token-parity-1');
    await e2e.createSecret(`${name}-src`, { kubeconfig: source });
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)], { labels: { env: 'staging' }, displayName: 'My Test Cluster' });
    const { secret, sveltosCluster } = await e2e.waitForSync(name);

    assert.equal(secret.metadata?.name, secretNameFor(name));
    assert.equal(secret.type, 'Opaque');
    // Rendered from the validated source (ADR 8), so equal in meaning, not in bytes.
    assert.deepEqual(selectedContext(e2e.managedKubeconfig(secret) ?? ''), selectedContext(source), 'managed Secret holds the source context, cluster and user');
    assert.equal(secret.metadata?.labels?.[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
    assert.equal(sveltosCluster.spec?.kubeconfigName, secretNameFor(name));
    assert.equal(sveltosCluster.spec?.kubeconfigKeyName, 'kubeconfig');
    assert.equal(sveltosCluster.spec?.tokenRequestRenewalOption, undefined);
    assert.equal(sveltosCluster.metadata?.labels?.env, 'staging');
    assert.equal(sveltosCluster.metadata?.labels?.[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
    assert.equal(sveltosCluster.metadata?.annotations?.[DISPLAY_NAME_ANNOTATION], 'My Test Cluster');
    for (const obj of [secret, sveltosCluster]) {
      const owner = obj.metadata?.ownerReferences?.[0];
      assert.equal(owner?.kind, 'ClusterProfile');
      assert.equal(owner?.uid, profile.metadata?.uid);
    }
    const current = await e2e.getProfile(name);
    assert.ok(current?.metadata?.finalizers?.includes(FINALIZER), 'finalizer added');
    const status = await e2e.waitForPhase(profile, 'Ready');
    assert.equal(status.provider, 'kubeconfig-secretreader');
  });

  test('an unchanged refresh writes nothing', async () => {
    const name = uniqueName('idem');
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('token-idem') });
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)], { labels: { a: 'b' } });
    const first = await e2e.waitForSync(name);
    await e2e.waitForPhase(profile, 'Ready');
    const outcome = await e2e.workflow(profile).executeUpdate(refreshUpdate, { args: [{ reason: 'test' }] });
    assert.equal(outcome.phase, 'Ready');
    assert.equal(outcome.changed, false);
    const [secret, sc] = await Promise.all([e2e.getSecret(secretNameFor(name)), e2e.getSveltosCluster(name)]);
    assert.equal(secret?.metadata?.resourceVersion, first.secret.metadata?.resourceVersion);
    assert.equal(sc?.metadata?.resourceVersion, first.sveltosCluster.metadata?.resourceVersion);
  });

  test('source Secret rotation propagates without touching the ClusterProfile', async () => {
    const name = uniqueName('rotate');
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('token-before') });
    await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)]);
    await e2e.waitForSync(name);
    await e2e.updateSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('token-after') });
    await eventually('rotated kubeconfig in the managed Secret', async () =>
      tokenIn(e2e.managedKubeconfig(await e2e.getSecret(secretNameFor(name)))) === 'token-after' ? true : undefined,
    );
  });

  test('label changes propagate; labels other writers put on the SveltosCluster survive', async () => {
    const name = uniqueName('labels');
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('token-labels') });
    await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)], { labels: { env: 'staging', tier: 'gold' } });
    await e2e.waitForSync(name);
    await e2e.patchSveltosCluster(name, { metadata: { labels: { 'projectsveltos.io/k8s-version': 'v1.36.2' } } });
    await e2e.patchProfile(name, { metadata: { labels: { env: 'prod', tier: null } } });
    const sc = await eventually('label change on the SveltosCluster', async () => {
      const got = await e2e.getSveltosCluster(name);
      return got?.metadata?.labels?.env === 'prod' && got.metadata.labels.tier === undefined ? got : undefined;
    });
    assert.equal(sc.metadata?.labels?.['projectsveltos.io/k8s-version'], 'v1.36.2');
    assert.equal(sc.metadata?.labels?.[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
  });

  test('display name: add, change, remove', async () => {
    const name = uniqueName('display');
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('token-display') });
    await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)]);
    const { sveltosCluster } = await e2e.waitForSync(name);
    assert.equal(sveltosCluster.metadata?.annotations?.[DISPLAY_NAME_ANNOTATION], undefined);
    const annotation = async (): Promise<string | undefined> => (await e2e.getSveltosCluster(name))?.metadata?.annotations?.[DISPLAY_NAME_ANNOTATION];
    await e2e.patchProfile(name, { spec: { displayName: 'v1' } });
    await eventually('display name v1', async () => ((await annotation()) === 'v1' ? true : undefined));
    await e2e.patchProfile(name, { spec: { displayName: 'v2' } });
    await eventually('display name v2', async () => ((await annotation()) === 'v2' ? true : undefined));
    await e2e.patchProfile(name, { spec: { displayName: null } });
    await eventually('display name removed', async () => ((await annotation()) === undefined ? true : undefined));
  });

  test('exec-plugin provider: kubeconfig built from the plugin token and the provider cluster', async () => {
    const name = uniqueName('exec');
    const profile = await e2e.createProfile(name, [
      {
        name: 'e2e-exec-plugin',
        cluster: {
          server: 'https://fv-workload-control-plane:6443',
          extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { provider: 'e2e-exec-plugin' } }],
        },
      },
    ]);
    const { secret, sveltosCluster } = await e2e.waitForSync(name);
    assert.equal(sveltosCluster.spec?.kubeconfigName, secretNameFor(name));
    const kubeconfig = parse(e2e.managedKubeconfig(secret)!) as {
      clusters: Array<{ cluster: { server: string } }>;
      users: Array<{ user: { token?: string; exec?: unknown } }>;
    };
    assert.equal(kubeconfig.clusters[0]?.cluster.server, 'https://fv-workload-control-plane:6443');
    assert.equal(kubeconfig.users[0]?.user.token, 'plugin-token-7f3a');
    assert.equal(kubeconfig.users[0]?.user.exec, undefined, 'static kubeconfig, no exec stanza');
    const status = await e2e.waitForPhase(profile, 'Ready');
    assert.equal(status.provider, 'e2e-exec-plugin');
  });

  test('deletion removes the SveltosCluster, the Secret and the finalizer, and completes the workflow', async () => {
    const name = uniqueName('delete');
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('token-delete') });
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)]);
    await e2e.waitForSync(name);
    await e2e.waitForPhase(profile, 'Ready');
    await e2e.deleteProfile(name);
    await e2e.waitForGone(name);
    assert.equal(await e2e.getProfile(name), undefined, 'the ClusterProfile itself is gone once the finalizer is released');
    await e2e.workflow(profile).result();
    const reasons = (await e2e.events(name)).map((e) => e.reason);
    assert.ok(reasons.length > 0, 'Events were recorded on the ClusterProfile');
  });
});
