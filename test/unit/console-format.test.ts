import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { formatRecord, logDuration, printable, textDestination, withoutTaskTokens } from '../../worker/console-format.js';
import { createLogger, resolveLogFormat } from '../../worker/logger.js';
import { ConfigError, parseConfig, type AppConfig } from '../../cli/config.js';

// A task token as the SDK logs it: base64 of a protobuf, several hundred characters.
const TOKEN = Buffer.alloc(300, 7).toString('base64');

function capture(): { stream: PassThrough & { isTTY?: boolean }; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return { stream, text: () => chunks.join('') };
}

/** A log call shaped like the SDK's activity logs: its attributes carry the task token. */
function logLikeAnActivity(logger: ReturnType<typeof createLogger>): void {
  logger.info(
    {
      sdkComponent: 'activity',
      taskToken: TOKEN,
      activityType: 'syncCredentials',
      attempt: 1,
      workflowId: 'clusterprofile/demo/spoke-1/0b3c-uid',
      durationMs: 85,
      nested: { taskToken: TOKEN, kept: 'yes' },
    },
    'kubeconfig Secret written',
  );
}

describe('task tokens', () => {
  test('are dropped at any depth, other fields kept', () => {
    const out = withoutTaskTokens({ a: 1, taskToken: TOKEN, inner: { task_token: TOKEN, b: [{ TaskToken: TOKEN, c: 2 }] } });
    assert.deepEqual(out, { a: 1, inner: { b: [{ c: 2 }] } });
  });

  test('the input is returned as is when it has none', () => {
    const obj = { a: 1, inner: { b: [1, 2] } };
    assert.equal(withoutTaskTokens(obj), obj);
  });

  test('never reach JSON logs', () => {
    const { stream, text } = capture();
    logLikeAnActivity(createLogger('info', stream, 'json'));
    const line = JSON.parse(text()) as Record<string, unknown>;
    assert.equal(line.taskToken, undefined);
    assert.deepEqual(line.nested, { kept: 'yes' });
    assert.equal(line.activityType, 'syncCredentials');
    assert.ok(!text().includes(TOKEN.slice(0, 40)));
  });

  test('never reach text logs', () => {
    const { stream, text } = capture();
    logLikeAnActivity(createLogger('info', stream, 'text'));
    assert.ok(!text().includes(TOKEN.slice(0, 40)), text());
    assert.match(text(), /kubeconfig Secret written/);
  });
});

describe('text format', () => {
  test('one line: time, profile, what happened and how long', () => {
    const { stream, text } = capture();
    logLikeAnActivity(createLogger('info', stream, 'text'));
    const lines = text().split('\n').filter(Boolean);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\d\d:\d\d:\d\d {2}demo\/spoke-1 {2}syncCredentials: kubeconfig Secret written in 85ms {2}\(nested=\{"kept":"yes"\}\)$/);
  });

  test('a profile field wins over the workflow id; levels above info are named', () => {
    const line = formatRecord({ level: 40, time: '2026-01-02T03:04:05.000Z', msg: 'sync failed', profile: 'fleet/a', workflowId: 'clusterprofile/x/y/uid', reason: 'InvalidInput' });
    assert.match(line, /^\d\d:\d\d:\d\d {2}WARN {2}fleet\/a {2}sync failed {2}\(reason=InvalidInput\)$/);
  });

  test('errors, retries and *Ms durations read as words', () => {
    const line = formatRecord({ level: 40, msg: 'list failed', err: { message: 'connect ECONNREFUSED\n    at stack', stack: 'x' }, retryInMs: 2500, attempt: 3 });
    assert.match(line, /list failed \(attempt 3\): connect ECONNREFUSED {2}\(retryIn=2\.5s\)$/);
  });

  test('noise fields of the SDK are left out', () => {
    const line = formatRecord({ level: 30, msg: 'm', app: 'clusterinventory', pid: 1, taskQueue: 'q', namespace: 'default', workflowRunId: 'r', isLocal: false, sdkComponent: 'worker' });
    assert.match(line, /^\d\d:\d\d:\d\d {2}m$/);
  });

  test('values cannot split the line or drive the terminal', () => {
    const line = formatRecord({ level: 30, msg: 'bad\ninput \u001b[31mred\u001b[0m', field: 'a\r\nb\u202eevil', profile: 'ns/n' });
    // eslint-disable-next-line no-control-regex
    assert.ok(!/[\n\r\u001b\u202e]/.test(line), JSON.stringify(line));
    assert.match(line, /bad\\ninput \\x1b\[31mred/);
    assert.match(line, /field=a\\r\\nb\\u202eevil/);
  });

  test('long values are cut', () => {
    const line = formatRecord({ level: 30, msg: 'm', big: 'x'.repeat(5000) });
    assert.ok(line.length < 300, String(line.length));
    assert.ok(line.endsWith('…)'));
  });

  test('a line that is not JSON passes through, escaped', () => {
    const { stream, text } = capture();
    textDestination(stream).write('not json \u001b[2J\n');
    assert.equal(text(), 'not json \\x1b[2J\n');
  });

  test('durations', () => {
    assert.equal(logDuration(85), '85ms');
    assert.equal(logDuration(1234), '1.2s');
    assert.equal(logDuration(200_000), '3m20s');
    assert.equal(printable('x'.repeat(10), 5), 'xxxx…');
  });
});

describe('choosing the format', () => {
  test('auto: text on a terminal, JSON otherwise', () => {
    assert.equal(resolveLogFormat('auto', Object.assign(new PassThrough(), { isTTY: true })), 'text');
    assert.equal(resolveLogFormat('auto', new PassThrough()), 'json');
    assert.equal(resolveLogFormat('json', Object.assign(new PassThrough(), { isTTY: true })), 'json');
  });

  test('a logger on a terminal writes text by default', () => {
    const { stream, text } = capture();
    stream.isTTY = true;
    createLogger('info', stream).info({ profile: 'a/b' }, 'hello');
    assert.match(text(), /^\d\d:\d\d:\d\d {2}a\/b {2}hello\n$/);
  });

  test('--log-format is parsed and checked', () => {
    const parse = (...argv: string[]): AppConfig => parseConfig(argv) as AppConfig;
    assert.equal(parse('run').logFormat, 'auto');
    assert.equal(parse('run', '--log-format', 'json').logFormat, 'json');
    assert.equal(parse('worker', '--log-format=text').logFormat, 'text');
    assert.throws(() => parse('run', '--log-format', 'pretty'), (e: unknown) => e instanceof ConfigError && /--log-format=pretty: expected one of json, text/.test(e.message));
  });
});
