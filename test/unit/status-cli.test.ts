// The operator commands' pure parts: arguments, visibility queries, rows from listed executions, the
// table / JSON / YAML output, durations, Web UI links, refresh outcomes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { TypedSearchAttributes, type SearchAttributePair } from '@temporalio/common';
import { parse as parseYaml } from 'yaml';
import { workflowUiUrl } from '../../cli/connect.js';
import { StreamingTable, oneLine, relative } from '../../cli/format.js';
import { humanDuration } from '../../worker/console-format.js';
import { collectingIo } from '../support/cli-io.js';
import { describeOutcome, parseRefreshArgs } from '../../cli/refresh.js';
import { EXIT, UsageError } from '../../cli/command.js';
import { describeStatus, parseStatusArgs, printList, runStatus, tableCells } from '../../cli/status.js';
import { profilesQuery, rowFromExecution, type ProfileRow } from '../../workflows/visibility.js';
import { SearchAttr, WORKFLOW_TYPE, parseWorkflowId, workflowIdFor, type WorkflowStatus } from '../../workflows/api.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

const collector = () => collectingIo({}, () => NOW);

function row(name: string, extra: Partial<ProfileRow> = {}): ProfileRow {
  return {
    namespace: 'fleet',
    name,
    uid: `uid-${name}`,
    workflowId: `clusterprofile/fleet/${name}/uid-${name}`,
    runId: `run-${name}`,
    taskQueue: 'clusterinventory',
    executionStatus: 'Running',
    phase: 'Ready',
    provider: 'kubeconfig-secretreader',
    sinceMs: NOW - 3 * 24 * HOUR,
    runStartedAtMs: NOW - HOUR,
    ...extra,
  };
}

async function* rows(list: ProfileRow[]): AsyncGenerator<ProfileRow> {
  for (const r of list) {
    await Promise.resolve();
    yield r;
  }
}

describe('status arguments', () => {
  test('filters, output and the Web UI from the environment', () => {
    const a = parseStatusArgs(['-n', 'fleet', '--phase', 'Degraded', '-o', 'wide', '--task-queue', 'q1'], { TEMPORAL_UI_URL: 'http://ui:8233' });
    assert.ok(a !== 'help');
    assert.deepEqual(a.filter, { namespace: 'fleet', phase: 'Degraded', taskQueue: 'q1' });
    assert.equal(a.output, 'wide');
    assert.equal(a.uiUrl, 'http://ui:8233');
    assert.equal(a.profile, undefined);
    assert.equal(a.timeoutMs, 10_000);
  });

  test('NAMESPACE/NAME, and --ui-url over the environment', () => {
    const a = parseStatusArgs(['fleet/spoke-1.example', '--ui-url', 'https://ui'], { TEMPORAL_UI_URL: 'http://ignored' });
    assert.ok(a !== 'help' && a.profile);
    assert.deepEqual(a.profile, { namespace: 'fleet', name: 'spoke-1.example' });
    assert.equal(a.uiUrl, 'https://ui');
  });

  test('usage errors', () => {
    const bad: string[][] = [
      ['--phase', 'Sleeping'],
      ['-n', 'Not_A_Namespace'],
      ['-o', 'xml'],
      ['fleet'],
      ['fleet/a', 'fleet/b'],
      ["fleet/x'y"],
      ['fleet/x', '--phase', 'Ready'],
      ['--task-queue', "q'1"],
      ['--timeout', 'soon'],
      ['--bogus'],
    ];
    for (const argv of bad) assert.throws(() => parseStatusArgs(argv, {}), UsageError, argv.join(' '));
    assert.equal(parseStatusArgs(['--help'], {}), 'help');
  });

  test('a usage error exits 2 before connecting', async () => {
    const c = collector();
    let connected = false;
    const code = await runStatus(['--phase', 'Sleeping'], c.io, () => {
      connected = true;
      return Promise.reject(new Error('unreachable'));
    });
    assert.equal(code, EXIT.usage);
    assert.equal(connected, false);
    assert.match(c.err(), /phase "Sleeping" is not one of/);
  });

  test('an unreachable Temporal exits 3', async () => {
    const c = collector();
    const code = await runStatus([], c.io, () => Promise.reject(new Error('cannot connect to Temporal at x:7233')));
    assert.equal(code, EXIT.error);
    assert.match(c.err(), /cannot connect/);
  });
});

describe('visibility', () => {
  test('the query selects running workflows of our type, with the filters', () => {
    assert.equal(profilesQuery(), `WorkflowType = '${WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`);
    assert.equal(
      profilesQuery({ namespace: 'fleet', name: 'a.b', phase: 'Degraded', taskQueue: 'tq' }),
      `WorkflowType = '${WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND TaskQueue = 'tq' AND ClusterProfileNamespace = 'fleet' AND ClusterProfileName = 'a.b' AND ClusterInventoryPhase = 'Degraded'`,
    );
    assert.match(profilesQuery({ running: false }), /ExecutionStatus != 'Running'/);
    assert.throws(() => profilesQuery({ name: "x' OR 1=1 --" }));
  });

  function info(pairs: SearchAttributePair[], memo: Record<string, unknown> | undefined, workflowId = 'clusterprofile/fleet/spoke-1/u-1'): WorkflowExecutionInfo {
    return {
      type: WORKFLOW_TYPE,
      workflowId,
      runId: 'r-1',
      taskQueue: 'clusterinventory',
      status: { code: 1, name: 'RUNNING' },
      historyLength: 10,
      startTime: new Date(NOW - HOUR),
      memo,
      searchAttributes: {},
      typedSearchAttributes: new TypedSearchAttributes(pairs),
      raw: {},
    } as unknown as WorkflowExecutionInfo;
  }

  test('a row from search attributes and the status memo', () => {
    const r = rowFromExecution(
      info(
        [
          { key: SearchAttr.namespace, value: 'fleet' },
          { key: SearchAttr.name, value: 'spoke-1' },
          { key: SearchAttr.phase, value: 'Degraded' },
          { key: SearchAttr.provider, value: 'eks' },
          { key: SearchAttr.credentialExpiry, value: new Date(NOW + HOUR) },
          { key: SearchAttr.observedHash, value: 'h-1' },
        ],
        { managedSinceMs: NOW - 24 * HOUR, nextRefreshAtMs: NOW + 10 * MIN, lastSyncAtMs: NOW - MIN, lastError: { reason: 'InvalidInput', message: 'bad', atMs: NOW - MIN } },
      ),
    );
    assert.deepEqual(r, {
      namespace: 'fleet',
      name: 'spoke-1',
      uid: 'u-1',
      workflowId: 'clusterprofile/fleet/spoke-1/u-1',
      runId: 'r-1',
      taskQueue: 'clusterinventory',
      executionStatus: 'RUNNING',
      sinceMs: NOW - 24 * HOUR,
      runStartedAtMs: NOW - HOUR,
      phase: 'Degraded',
      provider: 'eks',
      observedHash: 'h-1',
      credentialExpiresAtMs: NOW + HOUR,
      nextRefreshAtMs: NOW + 10 * MIN,
      lastSyncAtMs: NOW - MIN,
      lastError: { reason: 'InvalidInput', message: 'bad', atMs: NOW - MIN },
    });
  });

  test('a workflow without memo (started before it existed) still lists; its age falls back to the run start', () => {
    const r = rowFromExecution(info([], undefined));
    assert.equal(r?.namespace, 'fleet', 'namespace/name from the workflow ID');
    assert.equal(r?.sinceMs, NOW - HOUR);
    assert.equal(r?.lastError, undefined);
    assert.equal(rowFromExecution(info([], undefined, 'something-else')), undefined, 'not ours');
  });

  test('the workflow ID and its parser agree; IDs of another shape parse to nothing', () => {
    const ref = { namespace: 'fleet', name: 'spoke.a-1', uid: '0f1e-22' };
    assert.deepEqual(parseWorkflowId(workflowIdFor(ref)), ref);
    for (const id of ['clusterprofile/fleet/spoke', 'clusterprofile/fleet/spoke/uid/extra', 'other/fleet/spoke/uid', 'clusterprofile//spoke/uid']) {
      assert.equal(parseWorkflowId(id), undefined, id);
    }
  });
});

describe('output', () => {
  test('durations in kubectl style', () => {
    const cases: Array<[number, string]> = [
      [0, '0s'],
      [45_000, '45s'],
      [200_000, '3m20s'],
      [47 * MIN, '47m'],
      [5 * HOUR + 12 * MIN, '5h12m'],
      [20 * HOUR, '20h'],
      [3 * 24 * HOUR + 4 * HOUR, '3d4h'],
      [40 * 24 * HOUR, '40d'],
    ];
    for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, String(ms));
    assert.equal(relative(NOW + 5 * MIN, NOW), 'in 5m');
    assert.equal(relative(NOW - 90_000, NOW), '90s ago');
    assert.equal(oneLine('a\n  b\tc', 100), 'a b c');
    assert.equal(oneLine('abcdefghij', 5), 'abcd…');
  });

  test('table cells', () => {
    const r = row('spoke-1', {
      credentialExpiresAtMs: NOW + 47 * MIN,
      nextRefreshAtMs: NOW + 35 * MIN,
      lastError: { reason: 'Conflict', message: 'SveltosCluster fleet/spoke-1 exists and is not managed by this controller'.repeat(3), atMs: NOW },
    });
    const cells = tableCells(r, NOW);
    assert.deepEqual(cells.slice(0, 7), ['fleet', 'spoke-1', 'kubeconfig-secretreader', 'Ready', '?', 'in 47m', 'in 35m']);
    assert.ok(cells[7]!.startsWith('Conflict: SveltosCluster') && cells[7]!.length === 60 && cells[7]!.endsWith('…'));
    assert.equal(cells[8], '3d');
    const expired = tableCells(row('x', { credentialExpiresAtMs: NOW - 2 * MIN, nextRefreshAtMs: NOW - 1000 }), NOW);
    assert.equal(expired[5], 'expired 2m ago');
    assert.equal(expired[6], 'due');
    assert.deepEqual(tableCells(row('y', { provider: undefined, phase: undefined }), NOW).slice(2, 8), ['-', '-', '?', '-', '-', '-']);
    const wide = tableCells(row('z', { lastSyncAtMs: NOW - 3 * MIN }), NOW, true);
    assert.deepEqual(wide.slice(9), ['3m ago', 'clusterinventory', 'clusterprofile/fleet/z/uid-z']);
    const views = new Map([['fleet/spoke-1', { found: true, ready: false, connectionStatus: 'Down', connectionFailures: 3 }]]);
    assert.equal(tableCells(r, NOW, false, views)[4], 'not ready, Down (3 failures)');
    assert.equal(tableCells(row('other'), NOW, false, views)[4], 'no SveltosCluster');
  });

  test('the table: header, aligned columns, sorted by namespace/name; Degraded counted', async () => {
    const c = collector();
    const summary = await printList(rows([row('b'), row('a', { phase: 'Degraded' }), row('c')]), { output: 'table', pageSize: 1000 }, c.io);
    assert.deepEqual(summary, { rows: 3, degraded: 1 });
    const lines = c.out().trimEnd().split('\n');
    assert.match(lines[0]!, /^NAMESPACE\s+NAME\s+PROVIDER\s+PHASE\s+SVELTOS\s+CREDENTIAL EXPIRY\s+NEXT REFRESH\s+LAST ERROR\s+AGE$/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s+/)[1]),
      ['a', 'b', 'c'],
    );
    const phaseColumn = lines[0]!.indexOf('PHASE');
    for (const l of lines.slice(1)) assert.match(l.slice(phaseColumn), /^(Ready|Degraded)/, 'aligned');
  });

  test('an empty list says so on stderr', async () => {
    const c = collector();
    assert.deepEqual(await printList(rows([]), { output: 'table', pageSize: 1000 }, c.io), { rows: 0, degraded: 0 });
    assert.equal(c.out(), '');
    assert.match(c.err(), /No managed ClusterProfiles found/);
  });

  test('the table streams: after the first batch, rows go out batch by batch with the same widths', async () => {
    const written: string[] = [];
    const table = new StreamingTable({ write: (s) => (written.push(s), true) }, ['A', 'B'], 2);
    await table.add(['x', '1']);
    assert.equal(written.length, 0, 'the first batch is held to size the columns');
    await table.add(['yy', '2']);
    assert.equal(written.length, 1);
    await table.add(['a-much-longer-cell', '3']);
    await table.flush();
    assert.equal(written.join(''), 'A   B\nx   1\nyy  2\na-much-longer-cell  3\n');
  });

  test('JSON and YAML lists parse, with RFC 3339 times and no empty fields', async () => {
    const list = [row('a', { credentialExpiresAtMs: NOW + HOUR, lastError: { reason: 'InvalidInput', message: 'm', atMs: NOW } }), row('b')];
    for (const output of ['json', 'yaml'] as const) {
      const c = collector();
      await printList(rows(list), { output, pageSize: 1000 }, c.io);
      const parsed = (output === 'json' ? JSON.parse(c.out()) : parseYaml(c.out())) as Array<Record<string, unknown>>;
      assert.equal(parsed.length, 2, output);
      assert.equal(parsed[0]!.credentialExpiresAt, new Date(NOW + HOUR).toISOString());
      assert.deepEqual(parsed[0]!.lastError, { reason: 'InvalidInput', message: 'm', at: new Date(NOW).toISOString() });
      assert.equal('lastError' in parsed[1]!, false, `${output}: absent values are left out`);
      assert.equal(parsed[1]!.managedSince, new Date(NOW - 3 * 24 * HOUR).toISOString());
    }
    for (const output of ['json', 'yaml'] as const) {
      const c = collector();
      await printList(rows([]), { output, pageSize: 1000 }, c.io);
      assert.deepEqual(output === 'json' ? JSON.parse(c.out()) : parseYaml(c.out()), [], `${output}: empty list`);
    }
  });

  test('one profile, described', () => {
    const s: WorkflowStatus = {
      ref: { namespace: 'fleet', name: 'spoke-1', uid: 'u1' },
      phase: 'Degraded',
      provider: 'eks',
      lastSyncAtMs: NOW - 10 * MIN,
      credentialExpiresAtMs: NOW + 50 * MIN,
      nextRefreshAtMs: NOW + 5 * MIN,
      lastError: { reason: 'InvalidInput', message: 'exec plugin "eks" exited with code 1', atMs: NOW - MIN },
      observedGeneration: 3,
      observedResourceVersion: '123',
      observedHash: 'abc',
      syncCount: 7,
      runCount: 2,
    };
    const text = describeStatus(s, { workflowId: 'clusterprofile/fleet/spoke-1/u1', runId: 'r1', taskQueue: 'q' }, 'http://ui/x', NOW);
    assert.match(text, /^ClusterProfile:\s+fleet\/spoke-1 \(uid u1\)$/m);
    assert.match(text, /^Phase:\s+Degraded$/m);
    assert.match(text, /^Credential expiry:\s+2026-03-01T12:50:00.000Z \(in 50m\)$/m);
    assert.match(text, /^Last error:\s+InvalidInput at .*: exec plugin "eks" exited with code 1$/m);
    assert.match(text, /^Web UI:\s+http:\/\/ui\/x$/m);
  });

  test('Web UI links encode the workflow ID', () => {
    assert.equal(
      workflowUiUrl('http://127.0.0.1:8233/', 'default', 'clusterprofile/fleet/spoke-1/u1', 'r-1'),
      'http://127.0.0.1:8233/namespaces/default/workflows/clusterprofile%2Ffleet%2Fspoke-1%2Fu1/r-1',
    );
  });
});

describe('refresh', () => {
  test('arguments', () => {
    const a = parseRefreshArgs(['fleet/spoke-1', '--reason', 'rotated by hand', '-o', 'json'], {});
    assert.ok(a !== 'help');
    assert.deepEqual(a.profile, { namespace: 'fleet', name: 'spoke-1' });
    assert.equal(a.reason, 'rotated by hand');
    assert.equal(a.output, 'json');
    assert.equal(a.timeoutMs, 180_000);
    const d = parseRefreshArgs(['fleet/spoke-1'], {});
    assert.ok(d !== 'help' && /^clusterinventory refresh by /.test(d.reason));
    for (const bad of [[], ['fleet'], ['fleet/a', 'fleet/b'], ['fleet/a', '-o', 'wide']]) assert.throws(() => parseRefreshArgs(bad, {}), UsageError, bad.join(' '));
  });

  test('outcomes, described', () => {
    const ok = describeOutcome('fleet/a', { phase: 'Ready', changed: true, expiresAtMs: NOW + HOUR, nextRefreshAtMs: NOW + 48 * MIN }, NOW, 'http://ui/a');
    assert.equal(
      ok,
      'fleet/a: Ready; kubeconfig Secret / SveltosCluster changed\ncredential expires 2026-03-01T13:00:00.000Z (in 60m)\nnext refresh 2026-03-01T12:48:00.000Z (in 48m)\nhttp://ui/a\n',
    );
    const failed = describeOutcome('fleet/a', { phase: 'Degraded', changed: false, error: 'no provider' }, NOW, undefined);
    assert.equal(failed, 'fleet/a: Degraded: no provider\n');
  });
});
