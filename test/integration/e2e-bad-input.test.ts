// The bad input matrix, end to end (docs/behaviour.md): every input a ClusterProfile author, a source
// Secret owner or an exec plugin can get wrong. For each case the workflow turns Degraded with an error
// that names the object and the field, a Warning Event carries the same message, nothing is retried in
// a hot loop, nothing is deleted, and the workflow keeps running. Fixing the input makes it Ready again.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import {
  ADDITIONAL_ENVS_EXTENSION,
  EXEC_EXTENSION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  secretNameFor,
  type AccessProvider,
  type ClusterProfile,
  type SveltosCluster,
  type V1Secret,
} from '../../activities/kube/types.js';
import { STDERR_WITHHELD } from '../../activities/credentials/exec-plugin.js';
import { TRANSIENT_CREDENTIAL_ERROR, type WorkflowStatus } from '../../workflows/api.js';
import { PROFILE_MAX_DEPTH } from '../../activities/profile/bounds.js';
import { RETRY_BASE_MS } from '../../workflows/schedule.js';
import { E2E, secretReaderProvider, spokeKubeconfig, type ActivityExecution } from '../support/e2e.js';
import { selectedContext } from '../support/kubeconfig-view.js';
import { selfSignedClientCertificate } from '../support/selfsigned.js';
import { eventually, uniqueName } from '../support/stack.js';

const SYNC_PERIOD_MS = 60 * 60_000;
const EXEC_TIMEOUT_MS = 2000;
const PROVIDER = 'e2e-bad';
/**
 * The same plugin under a provider name of its own, for the case that must sync well before it fails: the
 * matrix's other exec cases fail PROVIDER's runs in a row, which opens PROVIDER's circuit breaker on the
 * worker (ADR 9), and a breaker is per provider.
 */
const ISOLATED_PROVIDER = 'e2e-bad-isolated';
const V1 = 'client.authentication.k8s.io/v1';
const EXEC_EXT_FIELD = `status.accessProviders[0].cluster.extensions[${EXEC_EXTENSION}]`;
const ENVS_EXT_FIELD = `status.accessProviders[0].cluster.extensions[${ADDITIONAL_ENVS_EXTENSION}]`;
/** A credential a failing plugin prints on stderr: it must not appear in any message. */
const STDERR_SECRET = 'sk9Fq2Lw7Xc4Vb8Nm1Zr5Ty3Hj6Kd0Pa';
/** Generous: the app, the API server and Temporal share two cores with the other test files. */
const PHASE_TIMEOUT_MS = 120_000;

/** Everything a case leaves for the later checks (no hot loop, recovery). */
interface CaseRecord {
  name: string;
  profile: ClusterProfile;
  status: WorkflowStatus;
  /** syncProfile executions in the run's history when the case was checked. */
  syncExecutions: number;
  checkedAtMs: number;
  transient: boolean;
}

/** An exec plugin whose behaviour the ClusterProfile selects with E2E_MODE (policy Replace: the profile wins). */
function pluginScript(dir: string): string {
  return [
    '#!/bin/sh',
    'case "$E2E_MODE" in',
    `  token) printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"%s"}}' "$E2E_TOKEN" ;;`,
    `  exit1) echo "refresh failed: token=${STDERR_SECRET}" >&2; echo "Authorization: Bearer ${STDERR_SECRET}" >&2; echo "password hunter2" >&2; echo "giving up" >&2; exit 1 ;;`,
    '  hang) exec sleep 3600 ;;',
    "  big) head -c 10485760 /dev/zero | tr '\\000' x ;;",
    `  *) exec cat "${dir}/out-$E2E_MODE.json" ;;`,
    'esac',
    '',
  ].join('\n');
}

function execProvider(env: Record<string, string>, server = 'https://spoke.example:6443', provider = PROVIDER): AccessProvider {
  return { name: provider, cluster: { server, extensions: [{ name: ADDITIONAL_ENVS_EXTENSION, extension: env }] } };
}

function kubeconfigWithUser(userYaml: string[], opts: { currentContext?: boolean; clusterExtra?: string[] } = {}): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: spoke',
    '  cluster:',
    '    server: https://spoke.example:6443',
    ...(opts.clusterExtra ?? []).map((l) => `    ${l}`),
    'users:',
    '- name: spoke-admin',
    '  user:',
    ...userYaml.map((l) => `    ${l}`),
    'contexts:',
    '- name: spoke',
    '  context: {cluster: spoke, user: spoke-admin}',
    ...(opts.currentContext === false ? [] : ['current-context: spoke']),
    '',
  ].join('\n');
}

describe('bad input matrix', () => {
  const e2e = new E2E();
  const otherNamespace = uniqueName('e2e-other');
  /** Allowed for sources by --secret-reader-namespaces: the setting under which one profile could read another's managed Secret. */
  const allowedNamespace = uniqueName('e2e-allowed');
  const records = new Map<string, CaseRecord>();
  let pluginDir: string;
  let certPem: string;

  before(async () => {
    pluginDir = await mkdtemp(join(tmpdir(), 'ci-bad-plugin-'));
    const plugin = join(pluginDir, 'plugin.sh');
    await writeFile(plugin, pluginScript(pluginDir));
    await chmod(plugin, 0o755);
    certPem = selfSignedClientCertificate('e2e-bad-input').certPem;
    const outputs: Record<string, unknown> = {
      wrongapi: { apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: 'wrong-api-token' } },
      certonly: { apiVersion: V1, kind: 'ExecCredential', status: { clientCertificateData: certPem } },
      neither: { apiVersion: V1, kind: 'ExecCredential', status: {} },
      expired: { apiVersion: V1, kind: 'ExecCredential', status: { token: 'expired-token-0001', expirationTimestamp: '2001-02-03T04:05:06Z' } },
    };
    for (const [mode, out] of Object.entries(outputs)) await writeFile(join(pluginDir, `out-${mode}.json`), JSON.stringify(out));
    await writeFile(join(pluginDir, 'out-garbage.json'), '<html>Service Unavailable</html>\n');

    await e2e.start({
      providers: {
        providers: [
          ...[PROVIDER, ISOLATED_PROVIDER].map((name) => ({
            name,
            execConfig: { command: plugin, args: [], env: [{ name: 'E2E_MODE', value: 'token' }], apiVersion: V1, provideClusterInfo: false },
            profileSourcedEnvVarsPolicy: 'Replace' as const,
            // The allowlist: a profile may set these two and nothing else.
            profileSourcedEnvVarNames: ['E2E_MODE', 'E2E_TOKEN'],
          })),
        ],
      },
      flags: ['--sync-period', '1h', '--exec-timeout', `${EXEC_TIMEOUT_MS}ms`, '--secret-reader-namespaces', allowedNamespace],
    });
    await e2e.core.createNamespace({ body: { metadata: { name: otherNamespace } } });
    await e2e.core.createNamespace({ body: { metadata: { name: allowedNamespace } } });
  });

  after(async () => {
    await e2e.stop();
    await e2e.core.deleteNamespace({ name: otherNamespace }).catch(() => undefined);
    await e2e.core.deleteNamespace({ name: allowedNamespace }).catch(() => undefined);
  });

  // ---- helpers --------------------------------------------------------------------------------------

  const syncExecutions = (acts: ActivityExecution[]): ActivityExecution[] => acts.filter((a) => a.type === 'syncProfile');

  /** A good secretreader profile, synced and Ready; returns what exists then. */
  async function goodSecretReader(name: string, token: string): Promise<{ profile: ClusterProfile; secret: V1Secret; sveltosCluster: SveltosCluster }> {
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig(token) });
    const profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)]);
    const synced = await e2e.waitForSync(name, PHASE_TIMEOUT_MS);
    await e2e.waitForPhase(profile, 'Ready', PHASE_TIMEOUT_MS);
    return { profile, ...synced };
  }

  interface Expectation {
    /** Substrings of lastError.message (object, field, reason). */
    contains: string[];
    /** Substrings that must not appear (credentials the input carried). */
    absent?: string[];
    /** The managed objects as they were in the earlier good state: they must still be there, untouched. */
    preserved?: { secret: V1Secret; sveltosCluster: SveltosCluster };
    /** Attempts of the failed syncProfile execution (1: non-retryable at once). */
    attempts?: number;
    /**
     * The failure may pass (plugin exit ≠ 0, timeout): retried SYNC_MAX_ATTEMPTS times by the activity, then
     * by the workflow with backoff before the held credential expires, under its own reason rather than InvalidInput.
     */
    transient?: boolean;
  }

  /** Events carry the message, cut to 1024 characters with a trailing ellipsis when longer. */
  const sameEventMessage = (event: string, message: string): boolean =>
    event === message || (message.length > 1024 && event.endsWith('…') && message.startsWith(event.slice(0, -1)));

  /** The assertions every case shares. */
  async function assertDegraded(title: string, name: string, profile: ClusterProfile, expect: Expectation): Promise<void> {
    const status = await e2e.waitForPhase(profile, 'Degraded', PHASE_TIMEOUT_MS);
    const error = status.lastError;
    assert.ok(error, 'lastError is set');
    for (const part of expect.contains) assert.ok(error.message.includes(part), `lastError.message ${JSON.stringify(error.message)} should contain ${JSON.stringify(part)}`);
    for (const part of expect.absent ?? []) assert.ok(!error.message.includes(part), `lastError.message must not contain ${JSON.stringify(part)}`);
    const reason = expect.transient ? TRANSIENT_CREDENTIAL_ERROR : 'InvalidInput';
    assert.equal(error.reason, reason);

    // A Warning Event on the ClusterProfile carries the message (Events cap messages at 1024 characters).
    const warning = await eventually(
      `Warning Event on ClusterProfile ${name}`,
      async () => (await e2e.events(name)).find((e) => e.type === 'Warning' && e.message !== undefined && sameEventMessage(e.message, error.message)),
      PHASE_TIMEOUT_MS,
    );
    assert.equal(warning.reason, reason);
    for (const part of expect.absent ?? []) assert.ok(!warning.message?.includes(part), `Event message must not contain ${JSON.stringify(part)}`);
    for (const part of expect.contains.filter((p) => error.message.indexOf(p) + p.length < 1024)) assert.ok(warning.message?.includes(part), `Event message should contain ${JSON.stringify(part)}`);

    // Bounded retries: the failure was final at once (non-retryable, no Temporal retries beyond the
    // bound), nothing is retrying now, and the next attempt on its own is a full sync period away.
    const description = await e2e.workflow(profile).describe();
    assert.equal(description.status.name, 'RUNNING', 'the workflow never fails');
    const pending = description.raw.pendingActivities ?? [];
    assert.ok(pending.every((p) => (p.attempt ?? 1) <= 1), `no activity is being retried: ${JSON.stringify(pending.map((p) => [p.activityType?.name, p.attempt]))}`);
    const syncs = syncExecutions(await e2e.activities(profile));
    const failed = syncs.filter((a) => a.outcome === 'failed');
    const last = failed.at(-1);
    assert.ok(last, 'a failed syncProfile execution is in the history');
    if (expect.transient) {
      // A failed plugin run is reported at once and the workflow schedules the retry itself, spread over the
      // second half of the backoff (ADR 9): no attempt inside the workflow task waits on a plugin.
      assert.equal(last.attempt, 1, 'attempts of the failed syncProfile execution');
      assert.ok(status.nextRefreshAtMs !== undefined && status.nextRefreshAtMs - error.atMs >= RETRY_BASE_MS / 2 - 1000, 'next retry after the backoff');
    } else {
      assert.equal(last.nonRetryable, true, 'the failure is non-retryable');
      assert.equal(last.attempt, expect.attempts ?? 1, 'attempts of the failed syncProfile execution');
      assert.ok(status.nextRefreshAtMs !== undefined && status.nextRefreshAtMs - error.atMs >= SYNC_PERIOD_MS - 1000, 'next retry after the sync period');
    }

    // Nothing deleted, nothing half-written.
    const [secret, sveltosCluster] = await Promise.all([e2e.getSecret(secretNameFor(name)), e2e.getSveltosCluster(name)]);
    if (expect.preserved) {
      assert.ok(secret, 'the managed Secret from the good state is still there');
      assert.equal(secret.metadata?.uid, expect.preserved.secret.metadata?.uid);
      assert.equal(secret.metadata?.resourceVersion, expect.preserved.secret.metadata?.resourceVersion, 'the managed Secret was not rewritten');
      assert.equal(e2e.managedKubeconfig(secret), e2e.managedKubeconfig(expect.preserved.secret));
      assert.ok(sveltosCluster, 'the SveltosCluster from the good state is still there');
      assert.equal(sveltosCluster.metadata?.uid, expect.preserved.sveltosCluster.metadata?.uid);
      assert.equal(sveltosCluster.metadata?.deletionTimestamp, undefined);
    } else {
      assert.equal(secret, undefined, 'no managed Secret is written for invalid input');
      assert.equal(sveltosCluster, undefined, 'no SveltosCluster is written for invalid input');
    }
    records.set(title, { name, profile, status, syncExecutions: syncs.length, checkedAtMs: Date.now(), transient: expect.transient === true });
  }

  interface MatrixCase {
    title: string;
    run(name: string, title: string): Promise<void>;
  }

  /** A case that starts from scratch: create inputs, create the profile, expect Degraded. */
  function fresh(title: string, setup: (name: string) => AccessProvider[] | Promise<AccessProvider[]>, expect: (name: string) => Expectation): MatrixCase {
    return {
      title,
      async run(name) {
        const providers = await Promise.resolve(setup(name));
        const profile = await e2e.createProfile(name, providers);
        await assertDegraded(title, name, profile, expect(name));
      },
    };
  }

  const profileObject = (name: string) => `ClusterProfile ${e2e.namespace}/${name}`;
  const sourceObject = (name: string) => `Secret ${e2e.namespace}/${name}-src (source of ClusterProfile ${e2e.namespace}/${name})`;
  const srcSecret = (name: string, data: Record<string, string>) => e2e.createSecret(`${name}-src`, data);
  const reader = (name: string) => [secretReaderProvider(`${name}-src`)];
  const pluginField = `status.accessProviders[0]: exec plugin "${PROVIDER}"`;
  const execCase = (title: string, mode: string, reason: string, extra: Partial<Expectation> = {}): MatrixCase =>
    fresh(title, () => [execProvider({ E2E_MODE: mode })], (name) => ({ ...extra, contains: [profileObject(name), pluginField, reason, ...(extra.contains ?? [])] }));
  const envCase = (variable: string): MatrixCase =>
    fresh(
      `exec: profile-sourced env may not set ${variable} (policy Replace, not in profileSourcedEnvVarNames)`,
      () => [execProvider({ E2E_MODE: 'token', E2E_TOKEN: 'never-used', [variable]: '/tmp/evil' })],
      (name) => ({
        contains: [profileObject(name), `${ENVS_EXT_FIELD}.${variable}`, `environment variable "${variable}" is not allowed for provider "${PROVIDER}"`],
        absent: ['/tmp/evil'],
      }),
    );

  const matrix: MatrixCase[] = [
    // ---- kubeconfig-secretreader: the extension -------------------------------------------------------
    fresh(
      'secretreader: no exec extension',
      () => [{ name: 'kubeconfig-secretreader', cluster: { server: 'https://ignored.example:6443' } }],
      (name) => ({ contains: [profileObject(name), EXEC_EXT_FIELD, 'is required'] }),
    ),
    fresh(
      'secretreader: extension without name',
      () => [{ name: 'kubeconfig-secretreader', cluster: { server: 'https://x.example', extensions: [{ name: EXEC_EXTENSION, extension: { key: 'kubeconfig' } }] } }],
      (name) => ({ contains: [profileObject(name), `${EXEC_EXT_FIELD}.name`, 'is required'] }),
    ),
    fresh(
      'secretreader: extension without key',
      (name) => [{ name: 'kubeconfig-secretreader', cluster: { server: 'https://x.example', extensions: [{ name: EXEC_EXTENSION, extension: { name: `${name}-src` } }] } }],
      (name) => ({ contains: [profileObject(name), `${EXEC_EXT_FIELD}.key`, 'is required'] }),
    ),
    fresh(
      'secretreader: extension names an invalid Secret name',
      () => [{ name: 'kubeconfig-secretreader', cluster: { server: 'https://x.example', extensions: [{ name: EXEC_EXTENSION, extension: { name: 'Not_A_Secret', key: 'kubeconfig' } }] } }],
      (name) => ({ contains: [profileObject(name), `${EXEC_EXT_FIELD}.name`, '"Not_A_Secret" is not a valid Secret name'] }),
    ),
    fresh(
      'secretreader: exec extension given twice',
      (name) => {
        const ext = { name: EXEC_EXTENSION, extension: { name: `${name}-src`, key: 'kubeconfig' } };
        return [{ name: 'kubeconfig-secretreader', cluster: { server: 'https://x.example', extensions: [ext, ext] } }];
      },
      (name) => ({ contains: [profileObject(name), EXEC_EXT_FIELD, 'appears 2 times'] }),
    ),
    fresh(
      'secretreader: source Secret missing',
      (name) => reader(name),
      (name) => ({ contains: [profileObject(name), `${EXEC_EXT_FIELD}.name`, `Secret ${e2e.namespace}/${name}-src (key "kubeconfig") not found`] }),
    ),
    fresh(
      'secretreader: source Secret in another namespace, not allowed',
      async (name) => {
        await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('cross-namespace-token-1') }, undefined, otherNamespace);
        return [secretReaderProvider(`${name}-src`, 'kubeconfig', otherNamespace)];
      },
      (name) => ({
        contains: [profileObject(name), `${EXEC_EXT_FIELD}.namespace`, `reading Secret ${otherNamespace}/${name}-src is refused`, '--secret-reader-namespaces'],
        absent: ['cross-namespace-token-1'],
      }),
    ),
    fresh(
      "secretreader: source is another profile's managed Secret (managed-by label, allowed namespace)",
      async (name) => {
        // What a managed Secret looks like to the reader: labelled managed-by, a valid kubeconfig inside.
        await e2e.createSecret(`${name}-victim-sveltos-kubeconfig`, { value: spokeKubeconfig('victim-minted-token-8') }, { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, allowedNamespace);
        return [secretReaderProvider(`${name}-victim-sveltos-kubeconfig`, 'value', allowedNamespace)];
      },
      (name) => ({
        contains: [profileObject(name), `${EXEC_EXT_FIELD}.name`, `Secret ${allowedNamespace}/${name}-victim-sveltos-kubeconfig`, MANAGED_BY_LABEL],
        absent: ['victim-minted-token-8'],
      }),
    ),
    // ---- kubeconfig-secretreader: the source Secret's content ------------------------------------------
    fresh(
      'secretreader: key missing in the source Secret',
      async (name) => {
        await srcSecret(name, { other: spokeKubeconfig('wrong-key-token') });
        return reader(name);
      },
      (name) => ({ contains: [sourceObject(name), 'data[kubeconfig]', 'is missing or empty'] }),
    ),
    fresh(
      'secretreader: empty value',
      async (name) => {
        await srcSecret(name, { kubeconfig: '' });
        return reader(name);
      },
      (name) => ({ contains: [sourceObject(name), 'data[kubeconfig]', 'is missing or empty'] }),
    ),
    fresh(
      'secretreader: kubeconfig is not YAML',
      async (name) => {
        await srcSecret(name, { kubeconfig: 'users: [\n  {token: not-yaml-secret-77, : : ]]\n\t- broken' });
        return reader(name);
      },
      (name) => ({ contains: [sourceObject(name), 'data[kubeconfig]', 'is not valid YAML'], absent: ['not-yaml-secret-77'] }),
    ),
    fresh(
      'secretreader: kubeconfig with an exec user',
      async (name) => {
        await srcSecret(name, { kubeconfig: kubeconfigWithUser(['exec:', '  apiVersion: client.authentication.k8s.io/v1', '  command: /bin/evil']) });
        return reader(name);
      },
      (name) => ({ contains: [sourceObject(name), 'data[kubeconfig].users[spoke-admin].user.exec', 'exec plugins are refused'] }),
    ),
    fresh(
      'secretreader: exec smuggled behind a merge key (client-go would run it)',
      async (name) => {
        await srcSecret(name, { kubeconfig: kubeconfigWithUser(['token: merge-key-token-6', 'exec: ~', '<<: [{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/evil}}]']) });
        return reader(name);
      },
      (name) => ({ contains: [sourceObject(name), 'data[kubeconfig]', 'YAML merge keys (<<) are not allowed'], absent: ['merge-key-token-6'] }),
    ),
    fresh(
      'secretreader: server URL with user information',
      async (name) => {
        await srcSecret(name, { kubeconfig: kubeconfigWithUser(['token: userinfo-token-7']).replace('https://spoke.example', 'https://admin:userinfo-secret-7@spoke.example') });
        return reader(name);
      },
      (name) => ({
        contains: [sourceObject(name), 'data[kubeconfig].clusters[spoke].cluster.server', 'must not contain user information'],
        absent: ['userinfo-secret-7', 'userinfo-token-7'],
      }),
    ),
    fresh(
      'secretreader: kubeconfig with an auth-provider',
      async (name) => {
        await srcSecret(name, { kubeconfig: kubeconfigWithUser(['auth-provider:', '  name: oidc', '  config: {client-id: x}']) });
        return reader(name);
      },
      (name) => ({ contains: [sourceObject(name), 'data[kubeconfig].users[spoke-admin].user.auth-provider', 'auth providers are refused'] }),
    ),
    fresh(
      'secretreader: kubeconfig with a tokenFile',
      async (name) => {
        await srcSecret(name, { kubeconfig: kubeconfigWithUser(['tokenFile: /var/run/secrets/token']) });
        return reader(name);
      },
      (name) => ({ contains: [sourceObject(name), 'data[kubeconfig].users[spoke-admin].user.tokenFile', 'file references are refused'] }),
    ),
    fresh(
      'secretreader: kubeconfig with a certificate-authority path',
      async (name) => {
        await srcSecret(name, { kubeconfig: kubeconfigWithUser(['token: ca-path-token-3'], { clusterExtra: ['certificate-authority: /etc/ca.crt'] }) });
        return reader(name);
      },
      (name) => ({
        contains: [sourceObject(name), 'data[kubeconfig].clusters[spoke].cluster.certificate-authority', 'file references are refused'],
        absent: ['ca-path-token-3'],
      }),
    ),
    // ---- render injection: values client-go (goyaml v2) would read as line breaks -------------------------
    fresh(
      'secretreader: token with U+2028 and an indented exec key (client-go would run it if written raw)',
      async (name) => {
        // The \u escapes are YAML's own: the source means exactly this token to our reader.
        await srcSecret(name, { kubeconfig: kubeconfigWithUser(['token: "render-inject-8\\u2028    exec:\\u2028      command: sh"']) });
        return reader(name);
      },
      (name) => ({ contains: [sourceObject(name), 'data[kubeconfig].users[spoke-admin].user.token', 'found U+2028 at character 16'], absent: ['render-inject-8'] }),
    ),
    fresh(
      'secretreader: impersonation is refused, not dropped',
      async (name) => {
        await srcSecret(name, { kubeconfig: kubeconfigWithUser(['token: impersonate-token-9', 'as: system:admin']) });
        return reader(name);
      },
      (name) => ({ contains: [sourceObject(name), 'data[kubeconfig].users[spoke-admin].user.as', 'impersonation is refused'], absent: ['impersonate-token-9'] }),
    ),
    fresh(
      'exec: tls-server-name with U+2029 (it switched the context in client-go when written raw)',
      () => {
        const { name, cluster } = execProvider({ E2E_MODE: 'token', E2E_TOKEN: 'tls-name-token-10' });
        return [{ name, cluster: { server: 'https://spoke.example:6443', ...cluster, 'tls-server-name': 'spoke.example\u2029current-context:\u2029  evil' } }];
      },
      (name) => ({ contains: [profileObject(name), 'status.accessProviders[0].cluster.tls-server-name', 'must be a DNS name'], absent: ['tls-name-token-10'] }),
    ),
    fresh(
      'secretreader: kubeconfig without current-context',
      async (name) => {
        await srcSecret(name, { kubeconfig: kubeconfigWithUser(['token: no-context-token-4'], { currentContext: false }) });
        return reader(name);
      },
      (name) => ({ contains: [sourceObject(name), 'data[kubeconfig].current-context', 'is not set'], absent: ['no-context-token-4'] }),
    ),
    // ---- provider choice --------------------------------------------------------------------------------
    fresh(
      'unknown access provider (not in the provider file)',
      () => [{ name: 'e2e-nonexistent', cluster: { server: 'https://spoke.example:6443' } }],
      (name) => ({ contains: [profileObject(name), 'status.accessProviders', 'no supported access provider', '"e2e-nonexistent"'] }),
    ),
    // ---- exec plugins -------------------------------------------------------------------------------------
    execCase('exec: plugin exits 1 (stderr withheld: it goes to the worker log only)', 'exit1', `exited with code 1${STDERR_WITHHELD}`, {
      absent: [STDERR_SECRET, 'hunter2', 'giving up'],
      transient: true,
    }),
    execCase('exec: plugin hangs (killed after --exec-timeout)', 'hang', `did not finish within ${EXEC_TIMEOUT_MS} ms and was killed`, {
      transient: true,
    }),
    execCase('exec: plugin prints garbage', 'garbage', 'did not print valid JSON on stdout'),
    execCase('exec: plugin prints 10 MiB', 'big', 'wrote more than 1048576 bytes to stdout'),
    execCase('exec: wrong apiVersion', 'wrongapi', 'returned apiVersion "client.authentication.k8s.io/v1beta1", but is configured for "client.authentication.k8s.io/v1"'),
    execCase('exec: certificate without key', 'certonly', 'returned a client certificate without its key'),
    execCase('exec: neither token nor certificate', 'neither', 'returned neither a token nor a client certificate and key'),
    execCase('exec: already-expired credential', 'expired', 'returned a credential that expired at 2001-02-03T04:05:06.000Z', { absent: ['expired-token-0001'] }),
    fresh(
      'exec: empty server',
      () => [execProvider({ E2E_MODE: 'token', E2E_TOKEN: 'empty-server-token' }, '')],
      (name) => ({ contains: [profileObject(name), 'status.accessProviders[0].cluster.server', 'must not be empty'] }),
    ),
    envCase('PATH'),
    envCase('LD_PRELOAD'),
    envCase('KUBERNETES_EXEC_INFO'),
    envCase('BASH_ENV'),
    envCase('NODE_EXTRA_CA_CERTS'),
    envCase('AWS_ENDPOINT_URL_STS'),
    fresh(
      'exec: server URL with a token in the query',
      () => [execProvider({ E2E_MODE: 'token', E2E_TOKEN: 'query-server-token' }, 'https://spoke.example:6443/?access_token=query-secret-5')],
      (name) => ({ contains: [profileObject(name), 'status.accessProviders[0].cluster.server', 'must not contain a query'], absent: ['query-secret-5'] }),
    ),
    // ---- names --------------------------------------------------------------------------------------------
    {
      title: 'ClusterProfile name too long for its Secret (253 + 19 characters)',
      async run(_name, title) {
        const head = `${uniqueName('long')}.${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}`;
        const name = `${head}.${'d'.repeat(253 - head.length - 1)}`;
        assert.equal(name.length, 253);
        await e2e.createSecret('long-name-src', { kubeconfig: spokeKubeconfig('long-name-token') });
        const profile = await e2e.createProfile(name, [secretReaderProvider('long-name-src')]);
        await assertDegraded(title, name, profile, {
          contains: [profileObject(name), 'metadata.name', `derived Secret name "${secretNameFor(name)}" is 272 characters long`, 'at most 253'],
        });
      },
    },
    // ---- from a good state, then broken: nothing is deleted ------------------------------------------------
    {
      title: 'good, then the source Secret gets an exec user',
      async run(name, title) {
        const good = await goodSecretReader(name, 'good-token-exec-user');
        await e2e.updateSecret(`${name}-src`, { kubeconfig: kubeconfigWithUser(['exec:', '  apiVersion: client.authentication.k8s.io/v1', '  command: /bin/evil']) });
        await assertDegraded(title, name, good.profile, {
          contains: [sourceObject(name), 'data[kubeconfig].users[spoke-admin].user.exec', 'exec plugins are refused'],
          preserved: good,
        });
      },
    },
    {
      title: 'good, then the source Secret is deleted',
      async run(name, title) {
        const good = await goodSecretReader(name, 'good-token-deleted-src');
        await e2e.deleteSecret(`${name}-src`);
        await assertDegraded(title, name, good.profile, {
          contains: [profileObject(name), `${EXEC_EXT_FIELD}.name`, `Secret ${e2e.namespace}/${name}-src (key "kubeconfig") not found`],
          preserved: good,
        });
      },
    },
    {
      title: 'good, then the provider is switched to an unknown one',
      async run(name, title) {
        const good = await goodSecretReader(name, 'good-token-unknown-provider');
        await e2e.setProviders(name, [{ name: 'e2e-nonexistent', cluster: { server: 'https://spoke.example:6443' } }]);
        await assertDegraded(title, name, good.profile, {
          contains: [profileObject(name), 'status.accessProviders', 'no supported access provider', '"e2e-nonexistent"'],
          preserved: good,
        });
      },
    },
    {
      title: 'good, then the exec plugin starts failing',
      async run(name, title) {
        const isolated = (env: Record<string, string>) => execProvider(env, undefined, ISOLATED_PROVIDER);
        const profile = await e2e.createProfile(name, [isolated({ E2E_MODE: 'token', E2E_TOKEN: 'good-token-plugin-before' })]);
        const synced = await e2e.waitForSync(name, PHASE_TIMEOUT_MS);
        await e2e.waitForPhase(profile, 'Ready', PHASE_TIMEOUT_MS);
        await e2e.setProviders(name, [isolated({ E2E_MODE: 'exit1' })]);
        await assertDegraded(title, name, profile, {
          contains: [profileObject(name), `status.accessProviders[0]: exec plugin "${ISOLATED_PROVIDER}"`, `exited with code 1${STDERR_WITHHELD}`],
          absent: [STDERR_SECRET, 'hunter2'],
          preserved: { ...synced },
          transient: true,
        });
      },
    },
  ];

  for (const c of matrix) {
    test(c.title, async (t) => {
      await c.run(uniqueName('bad'), c.title);
      t.diagnostic(`lastError: ${records.get(c.title)?.status.lastError?.message ?? '(none)'}`);
    });
  }

  test('good, then a 5,000-deep extension: Degraded naming the field (the watcher does not choke), and its deletion is released promptly', async () => {
    const title = 'good, then a 5,000-deep extension';
    const name = uniqueName('bad');
    const good = await goodSecretReader(name, 'good-token-deep-extension');
    // Written as text: V8's JSON.stringify overflows on such an object, the API server stores it.
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const provider = JSON.stringify(secretReaderProvider(`${name}-src`)).replace('"key":"kubeconfig"', `"key":"kubeconfig","deep":${deep}`);
    await e2e.mergePatchStatusRaw(name, `{"status":{"accessProviders":[${provider}]}}`);
    await assertDegraded(title, name, good.profile, {
      contains: [profileObject(name), `${EXEC_EXT_FIELD.replace(`[${EXEC_EXTENSION}]`, '[0].extension')}.deep`, `nests deeper than ${PROFILE_MAX_DEPTH} levels`],
      preserved: good,
    });
    // Not one for the hot-loop check below: it is deleted now.
    records.delete(title);
    const deletedAt = Date.now();
    await e2e.deleteProfile(name);
    // Released by the watcher's deletion signal, not by a relist (30 s here) or the periodic sync (1 h here).
    await e2e.waitForGone(name, 25_000);
    assert.ok(Date.now() - deletedAt < 25_000);
    assert.equal(await e2e.getProfile(name), undefined, 'the ClusterProfile is gone (finalizer released)');
  });

  test('the API server refuses an extension that is not an object (so the controller never sees one)', async () => {
    const name = uniqueName('bad');
    await e2e.createProfile(name, []);
    await assert.rejects(
      e2e.setProviders(name, [{ name: 'kubeconfig-secretreader', cluster: { server: 'https://x.example', extensions: [{ name: EXEC_EXTENSION, extension: 'not-an-object' }] } }]),
      (err: { code?: number; body?: unknown }) => (err.code === 422 || err.code === 500) && /expected map|must be of type object/.test(String(err.body)),
    );
  });

  // A label value that is fine on the ClusterProfile but invalid on the SveltosCluster cannot exist: both are
  // metadata.labels under the same API server validation (the SveltosCluster only adds managed-by). This
  // proves the premise; names.ts still validates labels before writing, as unit tests show.
  test('the API server refuses an invalid label value on the ClusterProfile (so none reaches the SveltosCluster)', async () => {
    await assert.rejects(
      e2e.createProfile(uniqueName('bad'), [], { labels: { env: 'not a valid label value!' } }),
      (err: { code?: number; body?: unknown }) => err.code === 422 && /metadata\.labels/.test(String(err.body)),
    );
  });

  test('no hot loop: no Degraded profile synced again on its own', async () => {
    assert.ok(records.size >= 20, `at least 20 matrix cases ran (${records.size})`);
    // Give the most recent case a few seconds too; every earlier one had the rest of the matrix.
    const newest = Math.max(...[...records.values()].map((r) => r.checkedAtMs));
    const waitMs = newest + 5000 - Date.now();
    if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
    for (const [title, r] of records) {
      const status = await e2e.status(r.profile);
      assert.equal(status.phase, 'Degraded', `${title}: still Degraded`);
      // syncCount counts successful syncs only, so it must not have moved; the history counts attempts.
      assert.equal(status.syncCount, r.status.syncCount, `${title}: syncCount`);
      const syncs = syncExecutions(await e2e.activities(r.profile)).length;
      // One more is tolerated (a watcher event that is not ours to judge here); a hot loop makes dozens.
      // Transient failures retry with doubling backoff from RETRY_BASE_MS, each spread over the second half
      // of its delay: about log2(elapsed / (base / 2)) more, each a local sync plus, for a plugin that outlived
      // the local budget, the activity it was deferred to.
      const backoffRetries = r.transient ? 2 * Math.ceil(Math.log2((Date.now() - r.checkedAtMs) / (RETRY_BASE_MS / 2) + 1)) : 0;
      assert.ok(syncs <= r.syncExecutions + 1 + backoffRetries, `${title}: ${syncs} syncProfile executions, ${r.syncExecutions} when checked`);
      const description = await e2e.workflow(r.profile).describe();
      assert.equal(description.status.name, 'RUNNING', `${title}: still running`);
    }
  });

  test('recovery: fixing the profile makes it Ready again, with the new credential', async () => {
    const r = records.get('good, then the exec plugin starts failing');
    assert.ok(r, 'the case ran');
    await e2e.setProviders(r.name, [execProvider({ E2E_MODE: 'token', E2E_TOKEN: 'good-token-plugin-after' }, undefined, ISOLATED_PROVIDER)]);
    const status = await e2e.waitForPhase(r.profile, 'Ready', PHASE_TIMEOUT_MS);
    assert.equal(status.lastError, undefined);
    const kubeconfig = await eventually('the new token in the managed Secret', async () => {
      const text = e2e.managedKubeconfig(await e2e.getSecret(secretNameFor(r.name)));
      return text?.includes('good-token-plugin-after') ? text : undefined;
    });
    const parsed = parse(kubeconfig) as { users: Array<{ user: { token?: string } }> };
    assert.equal(parsed.users[0]?.user.token, 'good-token-plugin-after');
    await eventually('Recovered Event', async () => ((await e2e.events(r.name)).some((e) => e.type === 'Normal' && e.reason === 'Recovered') ? true : undefined));
    const description = await e2e.workflow(r.profile).describe();
    assert.equal(description.status.name, 'RUNNING');
  });

  test('recovery: fixing the source Secret makes a never-synced profile Ready', async () => {
    const r = records.get('secretreader: key missing in the source Secret');
    assert.ok(r, 'the case ran');
    const source = spokeKubeconfig('fixed-source-token');
    await e2e.updateSecret(`${r.name}-src`, { kubeconfig: source });
    await e2e.waitForPhase(r.profile, 'Ready', PHASE_TIMEOUT_MS);
    const { secret } = await e2e.waitForSync(r.name, PHASE_TIMEOUT_MS);
    assert.deepEqual(selectedContext(e2e.managedKubeconfig(secret) ?? ''), selectedContext(source));
  });
});
