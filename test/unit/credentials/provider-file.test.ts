import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_MAX_CONCURRENT_RUNS,
  maxConcurrentRunsOf,
  NO_PROVIDER_FILE,
  loadProviderFile,
  parseProviderFile,
  validateProviderFile,
} from '../../../activities/credentials/provider-file.js';
import { InvalidInputError } from '../../../activities/errors.js';
import { execProvider, rejection, thrown } from './fixtures.js';

const PATH = '/etc/clusterinventory/providers.json';

function fileError(doc: unknown): InvalidInputError {
  const err = thrown(() => validateProviderFile(doc, PATH));
  assert.ok(err instanceof InvalidInputError, `expected InvalidInputError, got ${err.name}: ${err.message}`);
  assert.equal(err.object, `provider file ${PATH}`);
  assert.ok(err.message.includes(PATH), 'message names the file');
  return err;
}

function withProvider(index: number, provider: Record<string, unknown>): unknown {
  const providers: unknown[] = [execProvider('first'), execProvider('second')];
  providers[index] = provider;
  return { providers };
}

void describe('provider file', () => {
  void test('a complete file is parsed, defaults are filled in, order is kept', () => {
    const file = parseProviderFile(
      JSON.stringify({
        providers: [
          {
            name: 'aks',
            execConfig: {
              command: 'kubelogin',
              args: ['get-token', '--login', 'workloadidentity'],
              env: [{ name: 'AZURE_CLIENT_ID', value: 'default-id' }],
              apiVersion: 'client.authentication.k8s.io/v1beta1',
              provideClusterInfo: true,
              interactiveMode: 'IfAvailable',
              installHint: 'install kubelogin',
            },
            profileSourcedCLIArgsPolicy: 'Append',
            profileSourcedEnvVarsPolicy: 'Replace',
            profileSourcedEnvVarNames: ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID'],
            maxConcurrentRuns: 12,
          },
          { name: 'gke', execConfig: { command: '/bin/gke', apiVersion: 'client.authentication.k8s.io/v1' }, profileSourcedEnvVarsPolicy: '' },
        ],
      }),
      PATH,
    );
    assert.equal(file.path, PATH);
    assert.deepEqual(
      file.providers.map((p) => p.name),
      ['aks', 'gke'],
    );
    const [aks, gke] = file.providers;
    assert.deepEqual(aks, {
      name: 'aks',
      execConfig: {
        command: 'kubelogin',
        args: ['get-token', '--login', 'workloadidentity'],
        env: [{ name: 'AZURE_CLIENT_ID', value: 'default-id' }],
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        provideClusterInfo: true,
        interactiveMode: 'IfAvailable',
        installHint: 'install kubelogin',
      },
      profileSourcedCLIArgsPolicy: 'Append',
      profileSourcedEnvVarsPolicy: 'Replace',
      profileSourcedEnvVarNames: ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID'],
      maxConcurrentRuns: 12,
    });
    assert.equal(gke?.maxConcurrentRuns, DEFAULT_MAX_CONCURRENT_RUNS, 'the default concurrency limit');
    assert.equal(maxConcurrentRunsOf(file, 'aks'), 12);
    assert.equal(maxConcurrentRunsOf(file, 'not-in-the-file'), DEFAULT_MAX_CONCURRENT_RUNS);
    assert.deepEqual(gke?.execConfig.args, []);
    assert.deepEqual(gke?.execConfig.env, []);
    assert.equal(gke?.execConfig.provideClusterInfo, false);
    assert.equal(gke?.execConfig.interactiveMode, 'Never');
    assert.equal(gke?.profileSourcedCLIArgsPolicy, 'Ignore');
    assert.equal(gke?.profileSourcedEnvVarsPolicy, 'Ignore');
    assert.deepEqual(gke?.profileSourcedEnvVarNames, [], 'no profile variable is allowed by default');
  });

  void test('the loaded structure is deeply frozen: mutation throws', () => {
    const file = parseProviderFile(
      JSON.stringify({ providers: [execProvider('p', { args: ['a'], env: [{ name: 'X', value: '1' }] })] }),
      PATH,
    );
    const p = file.providers[0];
    assert.ok(p);
    assert.ok(Object.isFrozen(file) && Object.isFrozen(file.providers) && Object.isFrozen(p));
    assert.ok(Object.isFrozen(p.execConfig.args) && Object.isFrozen(p.execConfig.env) && Object.isFrozen(p.execConfig.env[0]));
    assert.throws(() => (p.execConfig.args as string[]).push('--leak'), TypeError);
    assert.throws(() => {
      (p.execConfig.env[0] as { value: string }).value = 'changed';
    }, TypeError);
    assert.deepEqual(p.execConfig.args, ['a']);
    assert.ok(Object.isFrozen(NO_PROVIDER_FILE.providers));
  });

  void test('an empty provider list is valid', () => {
    assert.equal(parseProviderFile('{"providers":[]}', PATH).providers.length, 0);
  });

  const invalid: [string, unknown, string, RegExp?][] = [
    ['missing providers', {}, 'providers'],
    ['providers not a list', { providers: {} }, 'providers'],
    ['unknown top-level key', { providers: [], extra: 1 }, 'extra'],
    ['missing command', withProvider(1, { name: 'second', execConfig: { apiVersion: 'client.authentication.k8s.io/v1' } }), 'providers[1].execConfig.command', /required/],
    ['empty command', withProvider(0, execProvider('first', { command: ' ' })), 'providers[0].execConfig.command'],
    ['command not a string', withProvider(1, execProvider('second', { command: ['kubelogin'] })), 'providers[1].execConfig.command'],
    ['missing apiVersion', withProvider(1, { name: 'second', execConfig: { command: 'x' } }), 'providers[1].execConfig.apiVersion', /required/],
    ['bad apiVersion', withProvider(1, execProvider('second', { apiVersion: 'client.authentication.k8s.io/v1alpha1' })), 'providers[1].execConfig.apiVersion', /v1alpha1/],
    ['unknown args policy', withProvider(1, execProvider('second', {}, { args: 'Prepend' })), 'providers[1].profileSourcedCLIArgsPolicy', /Prepend/],
    ['args policy with wrong case', withProvider(0, execProvider('first', {}, { args: 'append' })), 'providers[0].profileSourcedCLIArgsPolicy'],
    ['unknown env policy', withProvider(1, execProvider('second', {}, { env: 'Merge' })), 'providers[1].profileSourcedEnvVarsPolicy', /Merge/],
    ['env policy not a string', withProvider(1, execProvider('second', {}, { env: 1 as unknown as string })), 'providers[1].profileSourcedEnvVarsPolicy'],
    ['duplicate names', { providers: [execProvider('dup'), execProvider('other'), execProvider('dup')] }, 'providers[2].name', /providers\[0\]/],
    ['missing name', withProvider(1, { execConfig: { command: 'x', apiVersion: 'client.authentication.k8s.io/v1' } }), 'providers[1].name'],
    ['reserved built-in name', withProvider(0, execProvider('kubeconfig-secretreader')), 'providers[0].name', /built-in/],
    ['missing execConfig', withProvider(1, { name: 'second' }), 'providers[1].execConfig', /required/],
    ['interactiveMode Always', withProvider(1, execProvider('second', { interactiveMode: 'Always' })), 'providers[1].execConfig.interactiveMode', /Always/],
    ['unknown interactiveMode', withProvider(1, execProvider('second', { interactiveMode: 'Sometimes' })), 'providers[1].execConfig.interactiveMode'],
    ['provideClusterInfo not a boolean', withProvider(0, execProvider('first', { provideClusterInfo: 'yes' })), 'providers[0].execConfig.provideClusterInfo'],
    ['args not a list', withProvider(0, execProvider('first', { args: '--flag' })), 'providers[0].execConfig.args'],
    ['arg not a string', withProvider(0, execProvider('first', { args: ['ok', 3] })), 'providers[0].execConfig.args[1]'],
    ['arg with $(VAR)', withProvider(0, execProvider('first', { args: ['--cluster-name', '$(CLUSTER_NAME)'] })), 'providers[0].execConfig.args[1]', /substitution/],
    ['env not a list', withProvider(1, execProvider('second', { env: { A: 'b' } })), 'providers[1].execConfig.env'],
    ['env entry without name', withProvider(1, execProvider('second', { env: [{ value: 'b' }] })), 'providers[1].execConfig.env[0].name'],
    ['env name with =', withProvider(1, execProvider('second', { env: [{ name: 'A=B', value: 'b' }] })), 'providers[1].execConfig.env[0].name'],
    ['duplicate env name', withProvider(1, execProvider('second', { env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] })), 'providers[1].execConfig.env[1].name'],
    ['env KUBERNETES_EXEC_INFO', withProvider(1, execProvider('second', { env: [{ name: 'KUBERNETES_EXEC_INFO', value: '{}' }] })), 'providers[1].execConfig.env[0].name'],
    ['unknown execConfig key, wrong case', withProvider(1, execProvider('second', { Args: [] })), 'providers[1].execConfig.Args', /case-sensitive.*"args"/],
    ['env var names not a list', withProvider(0, execProvider('first', {}, { env: 'Replace', envNames: 'A_VAR' as unknown as string[] })), 'providers[0].profileSourcedEnvVarNames'],
    ['env var name not portable', withProvider(0, execProvider('first', {}, { env: 'Replace', envNames: ['OK', 'A-B'] })), 'providers[0].profileSourcedEnvVarNames[1]', /not a valid environment variable name/],
    ['env var name starting with a digit', withProvider(0, execProvider('first', {}, { env: 'Replace', envNames: ['1X'] })), 'providers[0].profileSourcedEnvVarNames[0]'],
    ['env var name listed twice', withProvider(0, execProvider('first', {}, { env: 'Replace', envNames: ['A', 'A'] })), 'providers[0].profileSourcedEnvVarNames[1]', /twice/],
    ['env var names with policy Ignore', withProvider(0, execProvider('first', {}, { envNames: ['A'] })), 'providers[0].profileSourcedEnvVarNames', /Ignore/],
    ['env var name PATH (hard floor)', withProvider(0, execProvider('first', {}, { env: 'Replace', envNames: ['PATH'] })), 'providers[0].profileSourcedEnvVarNames[0]', /never/],
    ['env var name HOME (hard floor)', withProvider(0, execProvider('first', {}, { env: 'Replace', envNames: ['HOME'] })), 'providers[0].profileSourcedEnvVarNames[0]', /never/],
    ['env var name LD_PRELOAD (hard floor)', withProvider(0, execProvider('first', {}, { env: 'Replace', envNames: ['LD_PRELOAD'] })), 'providers[0].profileSourcedEnvVarNames[0]', /never/],
    ['env var name KUBERNETES_EXEC_INFO (hard floor)', withProvider(0, execProvider('first', {}, { env: 'AppendIfNotExists', envNames: ['KUBERNETES_EXEC_INFO'] })), 'providers[0].profileSourcedEnvVarNames[0]', /never/],
    ['unknown provider key', withProvider(0, { ...execProvider('first'), profileSourcedCliArgsPolicy: 'Append' }), 'providers[0].profileSourcedCliArgsPolicy'],
    ['maxConcurrentRuns 0', withProvider(1, { ...execProvider('second'), maxConcurrentRuns: 0 }), 'providers[1].maxConcurrentRuns', /1 to 20/],
    ['maxConcurrentRuns fractional', withProvider(0, { ...execProvider('first'), maxConcurrentRuns: 2.5 }), 'providers[0].maxConcurrentRuns', /whole number/],
    ['maxConcurrentRuns too large', withProvider(0, { ...execProvider('first'), maxConcurrentRuns: 21 }), 'providers[0].maxConcurrentRuns', /not 21/],
    ['maxConcurrentRuns a string', withProvider(0, { ...execProvider('first'), maxConcurrentRuns: '4' }), 'providers[0].maxConcurrentRuns', /a string/],
    ['maxConcurrentRuns with wrong case', withProvider(0, { ...execProvider('first'), maxconcurrentruns: 4 }), 'providers[0].maxconcurrentruns', /case-sensitive/],
  ];
  for (const [name, doc, field, reason] of invalid) {
    void test(`invalid: ${name} → error naming ${field}`, () => {
      const err = fileError(doc);
      assert.equal(err.field, field);
      assert.ok(err.message.includes(field));
      if (reason) assert.match(err.message, reason);
    });
  }

  void test('an env value of the wrong type is reported without echoing values', () => {
    const err = fileError(withProvider(0, execProvider('first', { env: [{ name: 'CLIENT_SECRET', value: { s: 'hunter2-secret' } }] })));
    assert.equal(err.field, 'providers[0].execConfig.env[0].value');
    assert.ok(!err.message.includes('hunter2'));
  });

  void test('invalid JSON names the file but never quotes its content', () => {
    const text = '{"providers":[{"name":"p","execConfig":{"env":[{"name":"S","value":"hunter2-secret"}] oops';
    const err = thrown(() => parseProviderFile(text, PATH));
    assert.ok(err instanceof InvalidInputError);
    assert.ok(err.message.includes(PATH));
    assert.match(err.message, /not valid JSON/);
    assert.ok(!err.message.includes('hunter2'));
  });

  void test('loadProviderFile reads through the injected reader', async () => {
    const reads: string[] = [];
    const file = await loadProviderFile(PATH, (path) => {
      reads.push(path);
      return Promise.resolve(JSON.stringify({ providers: [execProvider('p')] }));
    });
    assert.deepEqual(reads, [PATH]);
    assert.equal(file.providers[0]?.name, 'p');
  });

  void test('an unreadable file is an error naming it', async () => {
    const err = await rejection(
      loadProviderFile(PATH, () => Promise.reject(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }))),
    );
    assert.ok(err instanceof InvalidInputError);
    assert.ok(err.message.includes(PATH));
    assert.ok(err.message.includes('ENOENT'));
  });

  void test('validation errors from loadProviderFile name the file and field', async () => {
    const err = await rejection(
      loadProviderFile(PATH, () => Promise.resolve(JSON.stringify(withProvider(1, execProvider('second', {}, { args: 'Nope' }))))),
    );
    assert.ok(err instanceof InvalidInputError);
    assert.ok(err.message.includes(PATH) && err.message.includes('providers[1].profileSourcedCLIArgsPolicy'));
  });
});
