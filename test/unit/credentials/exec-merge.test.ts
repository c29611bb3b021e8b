import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildExecInvocation, mergeEnv } from '../../../activities/credentials/exec-merge.js';
import type { ProviderConfig } from '../../../activities/credentials/provider-file.js';
import { InvalidInputError } from '../../../activities/errors.js';
import {
  ADDITIONAL_ARGS_EXTENSION,
  ADDITIONAL_ENVS_EXTENSION,
  type KubeconfigCluster,
} from '../../../activities/kube/types.js';
import { execProvider, providerFile, thrown } from './fixtures.js';

const OBJ = 'ClusterProfile fleet/spoke-1';
const FIELD = 'status.accessProviders[0]';
const BASE = { PATH: '/usr/bin:/bin', HOME: '/home/controller', AWS_SECRET_ACCESS_KEY: 'inherited', KUBECONFIG: '/x' };

/** What the test provider lets profiles set, unless a test says otherwise. */
const ALLOWED = ['AZURE_CLIENT_ID', 'AZURE_AUTHORITY_HOST', 'Z_VAR', 'A_VAR', 'M_VAR', 'PORT'];

function config(args: string, env: string, envNames: string[] = env === 'Ignore' ? [] : ALLOWED): ProviderConfig {
  const file = providerFile(
    execProvider(
      'aks',
      { command: 'kubelogin', args: ['get-token', '--login', 'workloadidentity'], env: [{ name: 'AZURE_CLIENT_ID', value: 'default-id' }] },
      { args, env, envNames },
    ),
  );
  const p = file.providers[0];
  assert.ok(p);
  return p;
}

function cluster(extra: { args?: unknown; envs?: unknown }): KubeconfigCluster {
  const extensions = [];
  if ('args' in extra) extensions.push({ name: ADDITIONAL_ARGS_EXTENSION, extension: extra.args });
  if ('envs' in extra) extensions.push({ name: ADDITIONAL_ENVS_EXTENSION, extension: extra.envs });
  return { server: 'https://a.example:443', extensions };
}

const profileA = cluster({ args: ['--tenant-id', 'T-A'], envs: { AZURE_CLIENT_ID: 'id-A', AZURE_AUTHORITY_HOST: 'https://login.example/' } });
const profileB = cluster({ args: ['--tenant-id', 'T-B'] });

void describe('KEP-5339 args', () => {
  void test('Ignore: the profile args are ignored (even malformed ones)', () => {
    const inv = buildExecInvocation(config('Ignore', 'Ignore'), profileA, OBJ, FIELD, BASE);
    assert.deepEqual(inv.args, ['get-token', '--login', 'workloadidentity']);
    const malformed = buildExecInvocation(config('Ignore', 'Ignore'), cluster({ args: { not: 'a list' } }), OBJ, FIELD, BASE);
    assert.deepEqual(malformed.args, ['get-token', '--login', 'workloadidentity']);
  });

  void test('Append: profile args come after the file args', () => {
    const inv = buildExecInvocation(config('Append', 'Ignore'), profileA, OBJ, FIELD, BASE);
    assert.equal(inv.command, 'kubelogin');
    assert.deepEqual(inv.args, ['get-token', '--login', 'workloadidentity', '--tenant-id', 'T-A']);
  });

  void test('Append without the extension leaves the file args', () => {
    const inv = buildExecInvocation(config('Append', 'Ignore'), { server: 'https://x:1' }, OBJ, FIELD, BASE);
    assert.deepEqual(inv.args, ['get-token', '--login', 'workloadidentity']);
  });

  void test('Append: the extension must be a list of strings', () => {
    const notList = thrown(() => buildExecInvocation(config('Append', 'Ignore'), cluster({ args: { a: 'b' } }), OBJ, FIELD, BASE));
    assert.ok(notList instanceof InvalidInputError);
    assert.equal(notList.field, `${FIELD}.cluster.extensions[${ADDITIONAL_ARGS_EXTENSION}]`);
    assert.match(notList.message, /list of strings/);
    const notString = thrown(() => buildExecInvocation(config('Append', 'Ignore'), cluster({ args: ['ok', 42] }), OBJ, FIELD, BASE));
    assert.ok(notString instanceof InvalidInputError);
    assert.equal(notString.field, `${FIELD}.cluster.extensions[${ADDITIONAL_ARGS_EXTENSION}][1]`);
  });
});

void describe('KEP-5339 env', () => {
  void test('Ignore: only PATH, HOME and the file env', () => {
    const inv = buildExecInvocation(config('Ignore', 'Ignore'), profileA, OBJ, FIELD, BASE);
    assert.deepEqual(inv.env, { AZURE_CLIENT_ID: 'default-id', HOME: '/home/controller', PATH: '/usr/bin:/bin' });
  });

  void test('AppendIfNotExists: profile vars are added, the file wins on a clash', () => {
    const inv = buildExecInvocation(config('Ignore', 'AppendIfNotExists'), profileA, OBJ, FIELD, BASE);
    assert.equal(inv.env.AZURE_CLIENT_ID, 'default-id');
    assert.equal(inv.env.AZURE_AUTHORITY_HOST, 'https://login.example/');
  });

  void test('Replace: the profile wins on a clash', () => {
    const inv = buildExecInvocation(config('Ignore', 'Replace'), profileA, OBJ, FIELD, BASE);
    assert.equal(inv.env.AZURE_CLIENT_ID, 'id-A');
    assert.equal(inv.env.AZURE_AUTHORITY_HOST, 'https://login.example/');
  });

  void test('nothing else from the controller environment reaches the plugin', () => {
    const inv = buildExecInvocation(config('Append', 'Replace'), profileA, OBJ, FIELD, BASE);
    assert.equal(inv.env.AWS_SECRET_ACCESS_KEY, undefined);
    assert.equal(inv.env.KUBECONFIG, undefined);
    assert.deepEqual(Object.keys(inv.env), ['AZURE_AUTHORITY_HOST', 'AZURE_CLIENT_ID', 'HOME', 'PATH']);
  });

  void test('the file env may override HOME; a missing base PATH is simply absent', () => {
    const env = mergeEnv({ HOME: '/h' }, [{ name: 'HOME', value: '/plugin-home' }], undefined, 'Ignore');
    assert.deepEqual(env, { HOME: '/plugin-home' });
  });

  void test('env is built deterministically: sorted keys, independent of the profile map order', () => {
    const a = buildExecInvocation(config('Ignore', 'Replace'), cluster({ envs: { Z_VAR: '1', A_VAR: '2', M_VAR: '3' } }), OBJ, FIELD, BASE);
    const b = buildExecInvocation(config('Ignore', 'Replace'), cluster({ envs: { M_VAR: '3', A_VAR: '2', Z_VAR: '1' } }), OBJ, FIELD, BASE);
    assert.equal(JSON.stringify(a.env), JSON.stringify(b.env));
    const keys = Object.keys(a.env);
    assert.deepEqual(keys, [...keys].sort());
  });

  void test('the extension must be a map of strings', () => {
    const list = thrown(() => buildExecInvocation(config('Ignore', 'Replace'), cluster({ envs: ['A=1'] }), OBJ, FIELD, BASE));
    assert.ok(list instanceof InvalidInputError);
    assert.equal(list.field, `${FIELD}.cluster.extensions[${ADDITIONAL_ENVS_EXTENSION}]`);
    const num = thrown(() => buildExecInvocation(config('Ignore', 'Replace'), cluster({ envs: { PORT: 8080 } }), OBJ, FIELD, BASE));
    assert.ok(num instanceof InvalidInputError);
    assert.equal(num.field, `${FIELD}.cluster.extensions[${ADDITIONAL_ENVS_EXTENSION}].PORT`);
  });

  void test('a repeated extension name is an error', () => {
    const c: KubeconfigCluster = {
      server: 'https://x:1',
      extensions: [
        { name: ADDITIONAL_ARGS_EXTENSION, extension: ['a'] },
        { name: ADDITIONAL_ARGS_EXTENSION, extension: ['b'] },
      ],
    };
    const err = thrown(() => buildExecInvocation(config('Append', 'Ignore'), c, OBJ, FIELD, BASE));
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /2 times/);
  });
});

void describe('profile env allowlist', () => {
  // Variables an interpreter, SDK or runtime reads on its own: a denylist never knew them all.
  const dangerous = [
    'BASH_ENV',
    'ENV',
    'PERL5OPT',
    'PYTHONSTARTUP',
    'JAVA_TOOL_OPTIONS',
    'NODE_OPTIONS',
    'NODE_EXTRA_CA_CERTS',
    'KUBECONFIG',
    'AWS_ENDPOINT_URL_STS',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'GOOGLE_APPLICATION_CREDENTIALS',
    'HTTPS_PROXY',
    'LD_PRELOAD',
    'PATH',
  ];
  for (const name of dangerous) {
    for (const policy of ['AppendIfNotExists', 'Replace']) {
      void test(`${name} under ${policy} is an error naming the variable when the provider does not list it`, () => {
        const err = thrown(() => buildExecInvocation(config('Ignore', policy), cluster({ envs: { A_VAR: '1', [name]: 'evil' } }), OBJ, FIELD, BASE));
        assert.ok(err instanceof InvalidInputError);
        assert.ok(err.message.includes(`"${name}" is not allowed for provider "aks"`), err.message);
        assert.match(err.message, /profileSourcedEnvVarNames/);
        assert.equal(err.field, `${FIELD}.cluster.extensions[${ADDITIONAL_ENVS_EXTENSION}].${name}`);
        assert.ok(!err.message.includes('evil'), 'the value is not echoed');
      });
    }
  }

  for (const name of ['BASH_ENV', 'PERL5OPT', 'NODE_EXTRA_CA_CERTS', 'KUBECONFIG', 'AWS_ENDPOINT_URL_STS']) {
    void test(`${name} is passed on when the provider file lists it`, () => {
      const inv = buildExecInvocation(config('Ignore', 'Replace', [name]), cluster({ envs: { [name]: '/chosen/by/the/admin' } }), OBJ, FIELD, BASE);
      assert.equal(inv.env[name], '/chosen/by/the/admin');
    });
  }

  void test('nothing is allowed by default: a policy without a list refuses every profile variable', () => {
    const err = thrown(() => buildExecInvocation(config('Ignore', 'Replace', []), cluster({ envs: { AZURE_CLIENT_ID: 'x' } }), OBJ, FIELD, BASE));
    assert.ok(err instanceof InvalidInputError);
    assert.match(err.message, /lists none/);
  });

  void test('a name is matched exactly, not by prefix or case', () => {
    for (const name of ['azure_client_id', 'AZURE_CLIENT_ID_X', 'AZURE_CLIENT']) {
      const err = thrown(() => buildExecInvocation(config('Ignore', 'Replace'), cluster({ envs: { [name]: '1' } }), OBJ, FIELD, BASE));
      assert.ok(err instanceof InvalidInputError, name);
    }
  });

  void test('an unlisted variable is harmless when the policy ignores profile env', () => {
    const inv = buildExecInvocation(config('Ignore', 'Ignore'), cluster({ envs: { LD_PRELOAD: '/evil.so' } }), OBJ, FIELD, BASE);
    assert.equal(inv.env.LD_PRELOAD, undefined);
  });

  void test('a variable name with control characters is escaped and capped in the error', () => {
    const name = `X\u001b[2J${'Y'.repeat(5000)}`;
    const err = thrown(() => buildExecInvocation(config('Ignore', 'Replace'), cluster({ envs: { [name]: '1' } }), OBJ, FIELD, BASE));
    assert.ok(err instanceof InvalidInputError);
    assert.ok(!err.message.includes('\u001b'), 'no raw escape character');
    assert.ok(err.message.includes('\\x1b[2J'), err.message.slice(0, 300));
    assert.ok(err.message.length < 2100, `capped: ${err.message.length}`);
  });
});

void describe('no leaks between profiles', () => {
  for (const [args, env] of [
    ['Append', 'Replace'],
    ['Append', 'AppendIfNotExists'],
  ] as const) {
    void test(`the same loaded provider used for profile A then B (${args}/${env})`, () => {
      const shared = config(args, env);
      const before = JSON.stringify(shared);
      const a = buildExecInvocation(shared, profileA, OBJ, FIELD, BASE);
      const b = buildExecInvocation(shared, profileB, 'ClusterProfile fleet/spoke-2', FIELD, BASE);
      assert.deepEqual(a.args, ['get-token', '--login', 'workloadidentity', '--tenant-id', 'T-A']);
      assert.deepEqual(b.args, ['get-token', '--login', 'workloadidentity', '--tenant-id', 'T-B']);
      assert.equal(b.env.AZURE_AUTHORITY_HOST, undefined, "A's env must not reach B");
      assert.equal(b.env.AZURE_CLIENT_ID, 'default-id');
      assert.equal(JSON.stringify(shared), before, 'the provider config is unchanged');
      // And A again gives exactly A's result: nothing accumulated.
      assert.deepEqual(buildExecInvocation(shared, profileA, OBJ, FIELD, BASE), a);
    });
  }

  void test('the returned args and env are fresh objects', () => {
    const shared = config('Append', 'Replace');
    const a = buildExecInvocation(shared, profileA, OBJ, FIELD, BASE);
    assert.notEqual(a.args, shared.execConfig.args);
    (a.args as string[]).push('--mutated');
    (a.env as Record<string, string>).INJECTED = '1';
    const again = buildExecInvocation(shared, profileB, OBJ, FIELD, BASE);
    assert.ok(!again.args.includes('--mutated'));
    assert.equal(again.env.INJECTED, undefined);
  });
});
