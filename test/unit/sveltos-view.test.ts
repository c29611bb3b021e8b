// Sveltos's view in `clusterinventory status`: what the SveltosCluster's status says, taken only when
// well-typed, and shown beside our phase.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeStatus } from '../../cli/status.js';
import { sveltosCell, sveltosLines, viewOf } from '../../cli/sveltos-view.js';
import type { WorkflowStatus } from '../../workflows/api.js';

describe("Sveltos's view", () => {
  test('reads ready, version, connectionStatus, failures and failureMessage; ignores ill-typed values', () => {
    const down = viewOf({ status: { ready: true, version: 'v1.36.2', connectionStatus: 'Down', connectionFailures: 4, failureMessage: 'Unauthorized' } });
    assert.deepEqual(down, { found: true, ready: true, version: 'v1.36.2', connectionStatus: 'Down', connectionFailures: 4, failureMessage: 'Unauthorized' });
    assert.deepEqual(viewOf({ status: { ready: 'yes', version: 7, connectionFailures: '3', failureMessage: {} } }), { found: true });
    assert.deepEqual(viewOf(undefined), { found: false });
  });

  test('the SVELTOS cell', () => {
    assert.equal(sveltosCell({ found: true, ready: true, connectionStatus: 'Healthy' }), 'ready, Healthy');
    assert.equal(sveltosCell({ found: true, ready: true, connectionStatus: 'Down', connectionFailures: 3 }), 'ready, Down (3 failures)');
    assert.equal(sveltosCell({ found: true }), 'not ready');
    assert.equal(sveltosCell({ found: false }), 'no SveltosCluster');
    assert.equal(sveltosCell(undefined), '?');
  });

  test('status NAMESPACE/NAME shows it beside our phase, or says why it is unknown', () => {
    const s: WorkflowStatus = { ref: { namespace: 'fleet', name: 'spoke-1', uid: 'u1' }, phase: 'Ready', syncCount: 1, runCount: 1 };
    const where = { workflowId: 'w', taskQueue: 'q' };
    const view = { found: true, ready: false, connectionStatus: 'Down', connectionFailures: 3, failureMessage: 'the server has asked for the client to provide credentials' };
    const text = describeStatus(s, where, undefined, 0, { view });
    assert.match(text, /^Phase:\s+Ready$/m);
    assert.match(text, /^Sveltos:\s+not ready$/m);
    assert.match(text, /^Sveltos connection:\s+Down \(3 consecutive failures\)$/m);
    assert.match(text, /^Sveltos failure:\s+the server has asked for the client to provide credentials$/m);
    assert.match(describeStatus(s, where, undefined, 0, { view: { found: true, ready: true, version: 'v1.36.2', connectionStatus: 'Healthy' } }), /^Sveltos:\s+ready, Kubernetes v1\.36\.2$/m);
    assert.match(describeStatus(s, where, undefined, 0, { unavailable: 'no Kubernetes cluster in the kubeconfig' }), /^Sveltos:\s+unknown \(no Kubernetes cluster in the kubeconfig\)$/m);
    assert.deepEqual(sveltosLines({ found: false }), [['Sveltos', 'no SveltosCluster']]);
    const renewing = viewOf({ spec: { kubeconfigKeyName: 're-kubeconfig', tokenRequestRenewalOption: { renewTokenRequestInterval: '1h' } }, status: { ready: true } });
    assert.match(describeStatus(s, where, undefined, 0, { view: renewing }), /^Sveltos token renewal:\s+on \(spec\.tokenRequestRenewalOption\): Sveltos renews the token itself and reads key "re-kubeconfig"; .*Remove spec\.tokenRequestRenewalOption/m);
    assert.doesNotMatch(text, /token renewal/);
  });
});
