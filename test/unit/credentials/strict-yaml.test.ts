import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { MAX_FLOW_DEPTH, MAX_SOURCE_BYTES, MAX_TOKENS, parseStrictYaml } from '../../../activities/credentials/strict-yaml.js';
import { InvalidInputError } from '../../../activities/errors.js';
import { CA_DATA, CLIENT_CERT, CLIENT_KEY, JWT_TOKEN } from './fixtures.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

const NORMAL = stringify({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [{ name: 'spoke', cluster: { server: 'https://spoke.example:6443', 'certificate-authority-data': CA_DATA } }],
  users: [{ name: 'admin', user: { token: JWT_TOKEN, 'client-certificate-data': b64(CLIENT_CERT), 'client-key-data': b64(CLIENT_KEY) } }],
  contexts: [{ name: 'admin@spoke', context: { cluster: 'spoke', user: 'admin', namespace: 'default' } }],
  'current-context': 'admin@spoke',
});

/** `prefix`, then `item(0)`, `item(1)`, … while the whole stays within `maxBytes`, then `suffix`. */
function fill(prefix: string, item: (i: number) => string, suffix: string, maxBytes = MAX_SOURCE_BYTES): string {
  const parts = [prefix];
  let bytes = Buffer.byteLength(prefix) + Buffer.byteLength(suffix);
  for (let i = 0; ; i++) {
    const next = item(i);
    const size = Buffer.byteLength(next);
    if (bytes + size > maxBytes) break;
    parts.push(next);
    bytes += size;
  }
  parts.push(suffix);
  return parts.join('');
}

/** CPU milliseconds (all threads of this process, so GC counts too) of one call. */
function cpuMs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** 'parsed', or the refusal's message. */
function outcome(text: string): string {
  try {
    parseStrictYaml(text, 'Secret fleet/src', 'data[kubeconfig]');
    return 'parsed';
  } catch (err) {
    assert.ok(err instanceof InvalidInputError, `expected InvalidInputError, got ${String(err)}`);
    return err.message;
  }
}

void describe('strict YAML reader', () => {
  void test('a normal kubeconfig parses to plain values', () => {
    const doc = parseStrictYaml(NORMAL, 'o', 'a') as { users: { user: { token: string } }[] };
    assert.equal(doc.users[0]?.user.token, JWT_TOKEN);
  });

  void test('JSON is YAML too', () => {
    assert.deepEqual(parseStrictYaml('{"a": [1, "b"], "c": null}', 'o', 'a'), { a: [1, 'b'], c: null });
  });

  const refused: [string, string, RegExp][] = [
    ['merge key', 'a: 1\n<<: {b: 2}\n', /merge keys/],
    ['quoted merge key', `a: 1\n'<<': {b: 2}\n`, /merge keys/],
    ['merge key in a flow map', '{a: 1, <<: {b: 2}}', /merge keys/],
    ['duplicate key', 'a: 1\nb: 2\na: 3\n', /more than once.*line 3/],
    ['duplicate key, different quoting', `a: 1\n"a": 2\n`, /more than once/],
    ['anchor', 'a: &x 1\n', /anchors/],
    ['alias', 'a: *x\n', /aliases/],
    ['!!binary', 'a: !!binary aGk=\n', /tag/],
    ['!!set', 'a: !!set {x}\n', /tag/],
    ['local tag', 'a: !local x\n', /tag "!local"/],
    ['verbatim tag', 'a: !<tag:example.com:x> x\n', /tag/],
    ['%YAML', '%YAML 1.2\n---\na: 1\n', /directives/],
    ['%TAG', '%TAG ! tag:example.com,2000:\n---\na: 1\n', /directives/],
    ['empty key', ': 1\n', /empty/],
    [`flow nesting deeper than ${MAX_FLOW_DEPTH}`, `${'['.repeat(MAX_FLOW_DEPTH + 1)}${']'.repeat(MAX_FLOW_DEPTH + 1)}`, /nested more than/],
  ];
  for (const [what, text, reason] of refused) {
    void test(`refuses: ${what}`, () => {
      const message = outcome(text);
      assert.match(message, reason);
      assert.ok(message.startsWith('Secret fleet/src: data[kubeconfig]: '), message);
    });
  }

  void test(`accepts nesting up to ${MAX_FLOW_DEPTH} and the core tags`, () => {
    assert.equal(outcome(`${'['.repeat(MAX_FLOW_DEPTH)}${']'.repeat(MAX_FLOW_DEPTH)}`), 'parsed');
    assert.deepEqual(parseStrictYaml('a: !!str 1\nb: !!int "2"\nc: !!bool true\nd: !!null ""\ne: !!float 1.5\nf: !!map {}\ng: !!seq []\n', 'o', 'a'), {
      a: '1',
      b: 2,
      c: true,
      d: null,
      e: 1.5,
      f: {},
      g: [],
    });
  });

  void test('the error never quotes the source', () => {
    const message = outcome(`token: ${JWT_TOKEN}\ntoken: ${JWT_TOKEN}\n`);
    assert.ok(!message.includes(JWT_TOKEN));
    assert.ok(!outcome(`a: "${JWT_TOKEN}\n`).includes(JWT_TOKEN.slice(0, 20)));
  });
});

void describe('strict YAML reader: bounded time on hostile input', () => {
  // Worst cases within the size cap. The library's own duplicate-key check is quadratic: a flow map
  // of all 26k keys that fit in 256 KiB cost it seconds (an 800 KB one, minutes).
  const keyCapped = Math.floor(MAX_TOKENS / 8);
  const worst: [string, string, 'parsed' | RegExp][] = [
    ['one flow map of 256 KiB (26k keys)', fill('{', (i) => `k${i}: 1,`, '}'), /tokens/],
    [`one flow map of ${keyCapped} keys (just under the token cap)`, `{${Array.from({ length: keyCapped }, (_, i) => `k${i}: 1,`).join('')}}`, 'parsed'],
    ['one block map of 256 KiB', fill('', (i) => `k${i}: 1\n`, ''), /tokens/],
    ['256 KiB of one-element sequences', fill('[', () => '[1],', ']'), /tokens/],
    ['flow nesting 128k deep', `${'['.repeat(131_000)}${']'.repeat(131_000)}`, /nested more than/],
    ['block nesting ~720 deep', fill('', (i) => `${' '.repeat(i)}a:\n`, ''), 'parsed'],
    ['256 KiB of aliases', fill('a: &a [x]\nb: [', () => '*a,', ']'), /anchors/],
    ['a billion-laughs alias bomb', ['a: &a [x,x,x,x,x,x,x,x,x]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`)].join('\n'), /anchors/],
    ['256 KiB of one duplicate key', fill('', () => 'k: 1\n', ''), /tokens/],
    ['a few thousand duplicate keys', 'k: 1\n'.repeat(5000), /more than once/],
    ['a single 256 KiB scalar', fill('token: ', () => 'x', '\n'), 'parsed'],
  ];

  void test('every worst case finishes within 20x the time of a linear parse of 256 KiB of a normal kubeconfig', (t) => {
    // Warm up, then the per-byte cost of a normal kubeconfig, best of five batches.
    for (let i = 0; i < 50; i++) parseStrictYaml(NORMAL, 'o', 'a');
    const perByte = Math.min(
      ...Array.from({ length: 5 }, () => cpuMs(() => {
        for (let i = 0; i < 40; i++) parseStrictYaml(NORMAL, 'o', 'a');
      }) / (40 * NORMAL.length)),
    );
    const budgetMs = 20 * perByte * MAX_SOURCE_BYTES;
    for (const [what, text, expected] of worst) {
      assert.ok(Buffer.byteLength(text) <= MAX_SOURCE_BYTES, `${what} fits the size cap`);
      let result = '';
      const ms = cpuMs(() => (result = outcome(text)));
      if (expected === 'parsed') assert.equal(result, 'parsed', what);
      else assert.match(result, expected, what);
      t.diagnostic(`${what}: ${ms.toFixed(1)} ms of CPU (budget ${budgetMs.toFixed(1)} ms)`);
      assert.ok(ms <= budgetMs, `${what}: ${ms.toFixed(1)} ms of CPU, budget ${budgetMs.toFixed(1)} ms`);
    }
  });
});
