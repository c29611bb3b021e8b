import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { whatNow, type WhatNowFacts } from '../../tools/what-now.js';

const facts: WhatNowFacts = {
  example: 'demo/spoke-1',
  convergedAfterS: 12.34,
  secretName: 'spoke-1-sveltos-kubeconfig',
  workflowUiUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/clusterprofile%2Fdemo%2Fspoke-1%2Fuid/run',
  envFile: '/repo/.stack/env',
  kubeconfig: '/repo/.stack/kube/kubeconfig',
  server: 'https://127.0.0.1:6443',
  sourceSecret: 'spoke-1-admin-kubeconfig',
  keepsRunning: true,
  credential: {
    serviceAccount: 'sveltos-access/sveltos',
    lifetimeS: 600,
    plugin: 'tools/exec-plugin/serviceaccount-token.js',
    expiresAt: '2026-12-07T10:10:00.000Z',
    nextRefreshAt: '2026-12-07T10:08:00.000Z',
  },
};

describe('what now', () => {
  const text = whatNow(facts);

  test('says what converged and how long it took', () => {
    assert.match(text, /Ready: ClusterProfile demo\/spoke-1 converged 12\.3 s after start: Secret demo\/spoke-1-sveltos-kubeconfig and SveltosCluster demo\/spoke-1 written\./);
  });

  test("links the example's workflow and names the status command", () => {
    assert.ok(text.includes(`       ${facts.workflowUiUrl}\n`));
    assert.match(text, /source \/repo\/\.stack\/env\n\s+npx clusterinventory status\n\s+npx clusterinventory status demo\/spoke-1\n/);
  });

  test('the ClusterProfile example is valid YAML in the watched namespace, and its status patch is valid JSON', () => {
    const doc = /<<'EOF'\n([\s\S]*?)\n\s+EOF/.exec(text)![1]!.replace(/^ {7}/gm, '');
    const cp = parse(doc) as { apiVersion: string; kind: string; metadata: { name: string; namespace: string } };
    assert.equal(cp.apiVersion, 'multicluster.x-k8s.io/v1alpha1');
    assert.equal(cp.kind, 'ClusterProfile');
    assert.deepEqual(cp.metadata, { name: 'my-cluster', namespace: 'demo' });
    const patch = JSON.parse(/-p '(.*)'/.exec(text)![1]!) as { status: { accessProviders: Array<{ name: string; cluster: { server: string } }> } };
    assert.equal(patch.status.accessProviders[0]!.name, 'kubeconfig-secretreader');
    assert.equal(patch.status.accessProviders[0]!.cluster.server, facts.server);
  });

  test("names the example's real, expiring credential and when it is refreshed", () => {
    assert.match(text, /real 10-minute token of ServiceAccount sveltos-access\/sveltos on the spoke https:\/\/127\.0\.0\.1:6443/);
    assert.match(text, /expires 2026-12-07T10:10:00\.000Z, refreshed at 2026-12-07T10:08:00\.000Z, 80% of its lifetime/);
  });

  test('says what keeps running', () => {
    assert.match(text, /Ctrl-C stops it/);
    assert.doesNotMatch(whatNow({ ...facts, keepsRunning: false }), /Ctrl-C/);
  });
});
