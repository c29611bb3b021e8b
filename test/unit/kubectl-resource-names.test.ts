// Once Sveltos's CRDs are installed, `kubectl get clusterprofile` means Sveltos's own ClusterProfile
// (config.projectsveltos.io), not the Cluster Inventory API's. Every kubectl command we show a user
// names its resources in full: clusterprofiles.multicluster.x-k8s.io, sveltosclusters.lib.projectsveltos.io.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../../tools/stack/paths.js';
import { whatNow } from '../../tools/what-now.js';

/** A resource type kubectl would resolve by its short name (not followed by `.group`); a field-selector value (`kind=…`) is a kind, not a resource. */
const SHORT_FORM = /(?<![\w./=-])(clusterprofiles?|sveltosclusters?|clustersummar(?:y|ies))(?![\w.-])/i;

/** The kubectl commands in a text: from `kubectl ` to the end of the inline code span, comment or line. */
export function kubectlCommands(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    for (const m of line.matchAll(/kubectl\s[^`#]*/g)) out.push(m[0].trim());
  }
  return out;
}

export function shortForms(text: string): string[] {
  return kubectlCommands(text).filter((c) => SHORT_FORM.test(c));
}

function markdown(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? markdown(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
  );
}

describe('kubectl commands name resources in full', () => {
  test('the check catches the short forms', () => {
    assert.deepEqual(shortForms('run `kubectl get clusterprofile -A` now'), ['kubectl get clusterprofile -A']);
    assert.deepEqual(shortForms('kubectl -n x patch ClusterProfiles a'), ['kubectl -n x patch ClusterProfiles a']);
    assert.deepEqual(shortForms('kubectl get sveltoscluster/a'), ['kubectl get sveltoscluster/a']);
    assert.deepEqual(shortForms('kubectl get clustersummaries -A'), ['kubectl get clustersummaries -A']);
    assert.deepEqual(shortForms('kubectl get clusterprofiles.multicluster.x-k8s.io,sveltosclusters.lib.projectsveltos.io -A'), []);
    assert.deepEqual(shortForms('`kubectl describe` shows the ClusterProfile'), []);
  });

  const files = [join(repoRoot, 'README.md'), join(repoRoot, 'deploy', 'README.md'), ...markdown(join(repoRoot, 'docs'))];
  for (const file of files) {
    test(file.slice(repoRoot.length + 1), () => {
      assert.deepEqual(shortForms(readFileSync(file, 'utf8')), []);
    });
  }

  test('tools/what-now.ts (source and printed text)', () => {
    assert.deepEqual(shortForms(readFileSync(join(repoRoot, 'tools', 'what-now.ts'), 'utf8')), []);
    const text = whatNow({
      example: 'demo/spoke-1',
      convergedAfterS: 1,
      secretName: 'spoke-1-sveltos-kubeconfig',
      workflowUiUrl: 'http://ui',
      envFile: '/e',
      kubeconfig: '/k',
      server: 'https://127.0.0.1:1',
      sourceSecret: 's',
      keepsRunning: false,
      credential: { serviceAccount: 'a/b', lifetimeS: 600, plugin: 'p' },
    });
    assert.ok(kubectlCommands(text).length >= 3, 'the what-now shows kubectl commands');
    assert.deepEqual(shortForms(text), []);
  });
});
