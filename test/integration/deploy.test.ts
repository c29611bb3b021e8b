// The Helm chart and the kubectl manifests (deploy/): helm lint (also --strict), helm template with the
// default values and with value combinations, assertions on the rendered objects, the values schema,
// the committed manifests against a fresh render, a server-side dry run of every rendered object against
// the local kube-apiserver (strict field validation), and the rendered RBAC applied for real and checked
// with SubjectAccessReviews: every request the process makes is allowed, and the neighbours are denied.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AuthorizationV1Api,
  CoreV1Api,
  createConfiguration,
  HttpMethod,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  type KubeConfig,
  type KubernetesObject,
  type V1Container,
  type V1Deployment,
  type V1PodDisruptionBudget,
  type V1PolicyRule,
  type V1Service,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { parseProviderFile } from '../../activities/credentials/provider-file.js';
import { ensureHelm } from '../../tools/helm/ensure.js';
import { CHART_DIR, MANIFEST_FILE, NAMESPACE, RELEASE, helmTemplate, renderDefaultManifests, runHelm } from '../../tools/helm/render.js';
import { repoRoot } from '../../tools/stack/paths.js';
import { SEARCH_ATTRIBUTE_DECLARATIONS } from '../../workflows/api.js';
import { parseConfig, USAGE, type AppConfig } from '../../cli/config.js';
import { defaultLeaseName } from '../../watcher/lease-defaults.js';
import { kubeConfig, uniqueName } from '../support/stack.js';

// ---- What the process does in Kubernetes (the source of truth for the RBAC checks) ---------------

type Component = 'run' | 'worker' | 'watcher';
interface Permission {
  verb: string;
  group: string;
  resource: string;
}
const p = (verb: string, group: string, resource: string): Permission => ({ verb, group, resource });
const CP = ['multicluster.x-k8s.io', 'clusterprofiles'] as const;
const SC = ['lib.projectsveltos.io', 'sveltosclusters'] as const;
const SECRETS = ['', 'secrets'] as const;
const EVENTS = ['', 'events'] as const;

/** The watcher's informers: list and watch, nothing else. */
const WATCHER: Permission[] = [p('list', ...CP), p('watch', ...CP), p('list', ...SECRETS), p('watch', ...SECRETS), p('list', ...SC), p('watch', ...SC)];
/** The worker's activities: reads of single objects and writes. */
const WORKER: Permission[] = [
  p('get', ...CP),
  p('patch', ...CP),
  ...['get', 'create', 'patch', 'delete'].map((v) => p(v, ...SECRETS)),
  ...['get', 'create', 'patch', 'delete'].map((v) => p(v, ...SC)),
  ...['create', 'get', 'patch'].map((v) => p(v, ...EVENTS)),
];
const NEEDS: Record<Component, Permission[]> = { run: [...WATCHER, ...WORKER], worker: WORKER, watcher: WATCHER };
/** Source Secrets in --secret-reader-namespaces outside the watched namespaces. */
const SECRET_READ: Record<Component, Permission[]> = {
  run: ['get', 'list', 'watch'].map((v) => p(v, ...SECRETS)),
  worker: [p('get', ...SECRETS)],
  watcher: [p('list', ...SECRETS), p('watch', ...SECRETS)],
};
/** Leader election of the watcher replicas: one Lease, in the release namespace unless set. */
const LEASES = ['coordination.k8s.io', 'leases'] as const;
const LEADER_ELECTION: Permission[] = ['get', 'create', 'update'].map((v) => p(v, ...LEASES));
const NEVER_VERBS = ['*', 'update', 'deletecollection', 'escalate', 'bind', 'impersonate'];
/** `update` is allowed on the Lease alone (optimistic concurrency on its resourceVersion), limited to its name. */
const isLeaseRule = (rule: V1PolicyRule): boolean => rule.apiGroups?.join() === LEASES[0] && rule.resources?.join() === LEASES[1];

const key = (x: Permission): string => `${x.verb} ${x.group || 'core'}/${x.resource}`;
const keys = (xs: Permission[]): string[] => [...new Set(xs.map(key))].sort();

// ---- Scenarios ------------------------------------------------------------------------------------

/** Fixed names (created once, kept): the local apiserver has no namespace controller to delete them. */
const WATCH_A = 'cit-deploy-a';
const WATCH_B = 'cit-deploy-b';
const SOURCE_NS = 'cit-deploy-src';
const PROVIDERS = {
  providers: [
    {
      name: 'eks',
      execConfig: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: '/plugins/aws-iam-authenticator',
        args: ['token', '-i', 'spoke-1'],
        env: [{ name: 'AWS_REGION', value: 'eu-west-1' }],
        provideClusterInfo: true,
      },
      profileSourcedCLIArgsPolicy: 'Append',
    },
  ],
};

interface Scenario {
  name: string;
  values: Record<string, unknown>;
  mode: 'run' | 'split';
  watch: string[];
  secretReader: string[];
  metrics: boolean;
  serviceMonitor: boolean;
  pdb: boolean;
  /** Namespace of the leader-election Lease (and its Role); undefined: leader election off. */
  leaseNamespace?: string;
}
const base: Omit<Scenario, 'name' | 'values'> = { mode: 'run', watch: [], secretReader: [], metrics: true, serviceMonitor: false, pdb: true, leaseNamespace: NAMESPACE };
const SCENARIOS: Scenario[] = [
  { ...base, name: 'defaults', values: {} },
  {
    ...base,
    name: 'split mode',
    values: { mode: 'split', worker: { replicas: 3 }, watcher: { replicas: 3 }, leaderElection: { enabled: true, leaseDuration: '30s', renewDeadline: '20s', retryPeriod: '4s', namespace: WATCH_B, id: 'fleet-watcher' } },
    mode: 'split',
    leaseNamespace: WATCH_B,
  },
  {
    ...base,
    name: 'watchNamespaces → Roles',
    values: { watchNamespaces: [WATCH_A, WATCH_B], secretReaderNamespaces: [SOURCE_NS, WATCH_A] },
    watch: [WATCH_A, WATCH_B],
    secretReader: [SOURCE_NS, WATCH_A],
  },
  {
    ...base,
    name: 'split + watchNamespaces + secret reader "*"',
    values: { mode: 'split', watchNamespaces: [WATCH_A], secretReaderNamespaces: ['*'] },
    mode: 'split',
    watch: [WATCH_A],
    secretReader: ['*'],
  },
  {
    ...base,
    name: 'TLS + API key + providers + plugin volumes',
    values: {
      providers: PROVIDERS,
      temporal: {
        address: 'clusterinventory.a1b2c.tmprl.cloud:7233',
        namespace: 'clusterinventory.a1b2c',
        tls: { enabled: true, secretName: 'temporal-mtls', serverCaCertKey: 'ca.crt', serverName: 'clusterinventory.a1b2c.tmprl.cloud' },
        apiKey: { secretName: 'temporal-api-key', secretKey: 'key' },
      },
      extraInitContainers: [
        { name: 'plugins', image: 'busybox:1.37', command: ['cp', '/bin/true', '/plugins/aws-iam-authenticator'], volumeMounts: [{ name: 'plugins', mountPath: '/plugins' }] },
      ],
      extraVolumes: [{ name: 'plugins', emptyDir: {} }],
      extraVolumeMounts: [{ name: 'plugins', mountPath: '/plugins', readOnly: true }],
      extraEnv: [{ name: 'AWS_ROLE_ARN', value: 'arn:aws:iam::123456789012:role/clusterinventory' }],
      fingerprintKey: { secretName: 'clusterinventory-fingerprint-key' },
      logFormat: 'text',
      maxCachedWorkflows: 2000,
    },
  },
  { ...base, name: 'ServiceMonitor on', values: { metrics: { serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' } } } }, serviceMonitor: true },
  { ...base, name: 'metrics and PDB off', values: { metrics: { enabled: false }, podDisruptionBudget: { enabled: false } }, metrics: false, pdb: false },
];

// ---- Helpers --------------------------------------------------------------------------------------

interface Obj extends KubernetesObject {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

function parseObjects(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const ofKind = <T = Obj>(objs: Obj[], kind: string): T[] => objs.filter((o) => o.kind === kind) as T[];
const componentOf = (o: { metadata?: { labels?: Record<string, string> } }): Component => o.metadata?.labels?.['app.kubernetes.io/component'] as Component;

function manager(d: V1Deployment): V1Container {
  const c = d.spec?.template.spec?.containers.find((x) => x.name === 'manager');
  assert.ok(c, `${d.metadata?.name}: container "manager"`);
  return c;
}

const envValue = (c: V1Container, name: string): string | undefined => c.env?.find((e) => e.name === name)?.value;

function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** The CLI's reading of the rendered args, every one of them: a flag the CLI does not know fails here. */
function cliConfig(args: string[]): AppConfig {
  const parsed = parseConfig(args);
  assert.notEqual(parsed, 'help');
  return parsed as AppConfig;
}

let tmp: string;
async function valuesFile(values: Record<string, unknown>): Promise<string> {
  const f = join(tmp, `${uniqueName('values')}.json`);
  await writeFile(f, JSON.stringify(values));
  return f;
}

/**
 * KubernetesObjectApi with dryRun=All server-side apply. client-node serializes bodies through its typed
 * models, which silently drops fields it does not know; the middleware sends the rendered object as it
 * is and asks for strict field validation, so a misspelt field in the chart is an error.
 */
function dryRunApplier(kc: KubeConfig): (obj: Obj) => Promise<void> {
  const cluster = kc.getCurrentCluster();
  assert.ok(cluster);
  let raw: string | undefined;
  const api = new KubernetesObjectApi(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [
        {
          pre: (ctx) => {
            if (ctx.getHttpMethod() === HttpMethod.PATCH && raw !== undefined) {
              ctx.setQueryParam('fieldValidation', 'Strict');
              ctx.setBody(raw);
            }
            return Promise.resolve(ctx);
          },
          post: (res) => Promise.resolve(res),
        },
      ],
    }),
  );
  return async (obj) => {
    raw = JSON.stringify(obj);
    try {
      await api.patch(obj, undefined, 'All', 'clusterinventory-deploy-test', true, PatchStrategy.ServerSideApply);
    } catch (e) {
      const body = (e as { body?: unknown }).body;
      throw new Error(`${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}: ${typeof body === 'string' ? body : String(e)}`);
    } finally {
      raw = undefined;
    }
  };
}

async function ensureNamespaces(kc: KubeConfig, names: string[]): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (const name of names) {
    try {
      await core.createNamespace({ body: { metadata: { name, labels: { 'clusterinventory-temporal/test': 'deploy' } } } });
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e;
    }
  }
}

// ---- Tests ----------------------------------------------------------------------------------------

describe('deploy: Helm chart and kubectl manifests', () => {
  let helm: string;
  const rendered = new Map<string, { text: string; objs: Obj[] }>();

  before(async () => {
    helm = await ensureHelm();
    tmp = await mkdtemp(join(tmpdir(), 'cit-deploy-test-'));
    for (const sc of SCENARIOS) {
      const text = await helmTemplate(helm, { values: [sc.values] });
      rendered.set(sc.name, { text, objs: parseObjects(text) });
    }
  });

  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const render = (sc: Scenario): { text: string; objs: Obj[] } => rendered.get(sc.name)!;

  test('helm lint and helm lint --strict pass with the defaults and every combination', async () => {
    for (const sc of SCENARIOS) {
      const f = await valuesFile(sc.values);
      for (const strict of [[], ['--strict']]) {
        const out = await runHelm(helm, ['lint', CHART_DIR, '--namespace', NAMESPACE, '-f', f, ...strict]);
        assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/, `${sc.name} ${strict.join(' ')}\n${out}`);
        assert.doesNotMatch(out, /\[(WARNING|ERROR)\]/, `${sc.name} ${strict.join(' ')}\n${out}`);
      }
    }
  });

  test('values.schema.json rejects what the chart cannot render correctly', async () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ mode: 'both' }, /\/mode/],
      [{ watchNamespace: ['a'] }, /additional properties 'watchNamespace' not allowed/],
      [{ secretReaderNamespaces: ['*', 'a'] }, /secretReaderNamespaces/],
      [{ watchNamespaces: ['Not_A_Namespace'] }, /watchNamespaces/],
      [{ syncPeriod: '10 minutes' }, /syncPeriod/],
      [{ logLevel: 'verbose' }, /logLevel/],
      [{ terminationGracePeriodSeconds: 10 }, /terminationGracePeriodSeconds/],
      [{ temporal: { address: 'temporal-frontend' } }, /address/],
      [{ providers: { providers: [{ name: 'x', execConfig: { command: 'p', apiVersion: 'client.authentication.k8s.io/v1' }, profileSourcedEnvVarsPolicy: 'Merge' }] } }, /profileSourcedEnvVarsPolicy/],
      [{ providers: { providers: [{ name: 'kubeconfig-secretreader', execConfig: { command: 'p', apiVersion: 'client.authentication.k8s.io/v1' } }] } }, /name/],
      [{ image: { repository: '' } }, /repository/],
    ];
    for (const [values, why] of bad) {
      await assert.rejects(helmTemplate(helm, { values: [values] }), why, JSON.stringify(values));
    }
  });

  for (const sc of SCENARIOS) {
    describe(`rendered: ${sc.name}`, () => {
      test('Deployments: components, args, env, probes, ports, volumes', () => {
        const { objs } = render(sc);
        const deployments = ofKind<V1Deployment>(objs, 'Deployment');
        const expected: Component[] = sc.mode === 'run' ? ['run'] : ['worker', 'watcher'];
        assert.deepEqual(deployments.map(componentOf).sort(), [...expected].sort());
        const serviceAccounts = ofKind(objs, 'ServiceAccount').map((s) => s.metadata.name);
        for (const d of deployments) {
          const component = componentOf(d);
          const pod = d.spec!.template.spec!;
          const c = manager(d);
          assert.equal(d.metadata?.namespace, NAMESPACE);
          assert.ok(selects(d.spec!.selector.matchLabels, d.spec!.template.metadata?.labels), 'the selector selects the pod template');
          const replicas = (sc.values[component] as { replicas?: number } | undefined)?.replicas;
          // Availability by default: two of each, one watcher signalling (leader election).
          assert.equal(d.spec!.replicas, replicas ?? { run: 2, worker: 2, watcher: 2 }[component]);

          // The subcommand, then flags the CLI accepts.
          const args = c.args ?? [];
          assert.equal(args[0], component);
          assert.equal(c.command, undefined, 'the image ENTRYPOINT runs the CLI');
          const cfg = cliConfig(args);
          assert.equal(cfg.mode, component);
          assert.equal(cfg.healthAddr?.port, 9440);
          assert.ok(args.includes('--health-addr=:9440'));
          assert.ok(args.includes(sc.metrics ? '--metrics-addr=:9464' : '--metrics-addr=0'));
          assert.deepEqual(cfg.metricsAddr, sc.metrics ? { host: '0.0.0.0', port: 9464 } : undefined, 'the CLI reads the rendered --metrics-addr');
          assert.deepEqual(cfg.namespaces, sc.watch);
          assert.deepEqual(cfg.secretReaderNamespaces, sc.secretReader);
          assert.equal(cfg.leaderElection.enabled, sc.leaseNamespace !== undefined);
          assert.equal(pod.serviceAccountName, component === 'run' ? RELEASE : `${RELEASE}-${component}`, 'one ServiceAccount per component');
          assert.ok(serviceAccounts.includes(pod.serviceAccountName), `ServiceAccount ${pod.serviceAccountName} is rendered`);
          assert.notEqual(pod.automountServiceAccountToken, false);

          // Restricted Pod Security.
          assert.deepEqual(
            { runAsNonRoot: pod.securityContext?.runAsNonRoot, runAsUser: pod.securityContext?.runAsUser, seccomp: pod.securityContext?.seccompProfile?.type },
            { runAsNonRoot: true, runAsUser: 65532, seccomp: 'RuntimeDefault' },
          );
          assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
          assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
          assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
          assert.equal(c.securityContext?.privileged, undefined);
          assert.equal(c.securityContext?.capabilities?.add, undefined);
          for (const v of pod.volumes ?? []) assert.equal(v.hostPath, undefined, 'no hostPath volumes');
          assert.ok(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC);

          // A writable /tmp (HOME) on an emptyDir.
          const tmpMount = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
          assert.ok(tmpMount, '/tmp is mounted');
          assert.ok(pod.volumes?.find((v) => v.name === tmpMount.name)?.emptyDir, '/tmp is an emptyDir');
          assert.equal(envValue(c, 'HOME'), '/tmp');

          // Probes on the health port; shutdown grace above the worker's 20 s.
          const healthz = c.ports?.find((x) => x.name === 'healthz');
          assert.equal(healthz?.containerPort, 9440);
          assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'healthz' });
          assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'healthz' });
          assert.deepEqual(c.startupProbe?.httpGet, { path: '/healthz', port: 'healthz' });
          assert.ok((pod.terminationGracePeriodSeconds ?? 30) > 20);
          assert.equal(c.ports?.some((x) => x.name === 'metrics' && x.containerPort === 9464), sc.metrics);
          assert.ok(c.resources?.requests && c.resources.limits?.memory, 'requests and a memory limit');

          // Temporal connection.
          const temporal = (sc.values.temporal ?? {}) as { address?: string; namespace?: string };
          assert.equal(envValue(c, 'TEMPORAL_ADDRESS'), temporal.address ?? 'temporal-frontend.temporal.svc:7233');
          assert.equal(envValue(c, 'TEMPORAL_NAMESPACE'), temporal.namespace ?? 'default');
          if (!sc.values.temporal) {
            assert.deepEqual(
              (c.env ?? []).map((e) => e.name).filter((n) => n.startsWith('TEMPORAL_')),
              ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE'],
              'no TLS or API key settings by default',
            );
          }
          if (!sc.values.providers) {
            assert.ok(!args.some((a) => a.startsWith('--clusterprofile-provider-file')), 'no provider file: no flag');
          }
        }
      });

      test('RBAC: least privilege, no wildcards, exactly what each component needs, a comment per rule', () => {
        const { objs, text } = render(sc);
        const roles = [...ofKind(objs, 'ClusterRole'), ...ofKind(objs, 'Role')];
        assert.ok(roles.length > 0);
        for (const r of roles) {
          for (const rule of (r as unknown as { rules: V1PolicyRule[] }).rules) {
            const where = `${r.kind} ${r.metadata.namespace ?? ''}/${r.metadata.name} ${JSON.stringify(rule)}`;
            for (const list of [rule.verbs, rule.resources ?? [], rule.apiGroups ?? []]) assert.ok(!list.includes('*'), `no "*": ${where}`);
            for (const v of NEVER_VERBS) if (!(v === 'update' && isLeaseRule(rule) && rule.resourceNames?.length === 1)) assert.ok(!rule.verbs.includes(v), `no ${v}: ${where}`);
            if (isLeaseRule(rule) && !rule.verbs.includes('create')) assert.equal(rule.resourceNames?.length, 1, `get/update on one Lease only: ${where}`);
            assert.equal(rule.nonResourceURLs, undefined, where);
            assert.ok((rule.resources ?? []).every((x) => !x.includes('/')), `no subresources: ${where}`);
            if (rule.resources?.includes('secrets')) {
              assert.ok(rule.verbs.every((v) => ['get', 'list', 'watch', 'create', 'patch', 'delete'].includes(v)), `Secrets: ${where}`);
            }
          }
        }
        // Every rule carries the comment that says why.
        const lines = text.split('\n');
        lines.forEach((line, i) => {
          if (/^\s*- apiGroups:/.test(line)) assert.match(lines[i - 1] ?? '', /^\s*#/, `rule at line ${i + 1} has no comment`);
        });

        // Grants per ServiceAccount and namespace ('*' = cluster-wide), through the rendered bindings.
        const grants = new Map<string, Permission[]>();
        for (const b of [...ofKind(objs, 'ClusterRoleBinding'), ...ofKind(objs, 'RoleBinding')]) {
          const binding = b as unknown as { roleRef: { kind: string; name: string }; subjects: Array<{ kind: string; name: string; namespace: string }> };
          const role = roles.find((r) => r.kind === binding.roleRef.kind && r.metadata.name === binding.roleRef.name && r.metadata.namespace === b.metadata.namespace);
          assert.ok(role, `${b.kind} ${b.metadata.name} refers to a rendered ${binding.roleRef.kind}`);
          const scope = b.kind === 'ClusterRoleBinding' ? '*' : b.metadata.namespace!;
          for (const s of binding.subjects) {
            assert.equal(s.kind, 'ServiceAccount');
            assert.equal(s.namespace, NAMESPACE);
            const perms = (role as unknown as { rules: V1PolicyRule[] }).rules.flatMap((rule) =>
              rule.verbs.flatMap((verb) => (rule.apiGroups ?? []).flatMap((group) => (rule.resources ?? []).map((resource) => p(verb, group, resource)))),
            );
            const k = `${s.name} ${scope}`;
            grants.set(k, [...(grants.get(k) ?? []), ...perms]);
          }
        }
        const deployments = ofKind<V1Deployment>(objs, 'Deployment');
        const expected = new Map<string, string[]>();
        for (const d of deployments) {
          const component = componentOf(d);
          const sa = d.spec!.template.spec!.serviceAccountName!;
          const add = (scope: string, perms: Permission[]): void => {
            const k = `${sa} ${scope}`;
            expected.set(k, [...new Set([...(expected.get(k) ?? []), ...keys(perms)])].sort());
          };
          if (component !== 'worker' && sc.leaseNamespace !== undefined) add(sc.leaseNamespace, LEADER_ELECTION);
          if (sc.watch.length === 0) {
            add('*', NEEDS[component]);
          } else {
            for (const ns of sc.watch) add(ns, NEEDS[component]);
            if (sc.secretReader.includes('*')) add('*', SECRET_READ[component]);
            else for (const ns of sc.secretReader.filter((n) => !sc.watch.includes(n))) add(ns, SECRET_READ[component]);
          }
        }
        const actual = new Map([...grants].map(([k, v]) => [k, keys(v)]));
        assert.deepEqual(Object.fromEntries([...actual].sort()), Object.fromEntries([...expected].sort()));
        if (sc.watch.length > 0 && !sc.secretReader.includes('*')) {
          assert.equal(ofKind(objs, 'ClusterRole').length + ofKind(objs, 'ClusterRoleBinding').length, 0, 'nothing cluster-wide with watchNamespaces');
        }
      });

      test('PodDisruptionBudget, metrics Service, ServiceMonitor, namespaces', () => {
        const { objs } = render(sc);
        const deployments = ofKind<V1Deployment>(objs, 'Deployment');
        const pdbs = ofKind<V1PodDisruptionBudget>(objs, 'PodDisruptionBudget');
        assert.equal(pdbs.length, sc.pdb ? deployments.length : 0);
        for (const d of deployments) {
          if (sc.pdb) {
            const pdb = pdbs.filter((x) => selects(x.spec?.selector?.matchLabels, d.spec!.template.metadata?.labels));
            assert.equal(pdb.length, 1, `one PDB for ${d.metadata!.name}`);
            assert.equal(pdb[0]!.spec?.maxUnavailable, 1);
          }
        }
        const services = ofKind<V1Service>(objs, 'Service');
        assert.equal(services.length, sc.metrics ? 1 : 0);
        if (sc.metrics) {
          const svc = services[0]!;
          for (const d of deployments) assert.ok(selects(svc.spec?.selector, d.spec!.template.metadata?.labels), `the metrics Service selects ${d.metadata!.name}`);
          assert.deepEqual(
            svc.spec?.ports?.map((x) => [x.name, x.port, x.targetPort]),
            [['metrics', 9464, 'metrics']],
          );
        }
        const monitors = ofKind(objs, 'ServiceMonitor');
        assert.equal(monitors.length, sc.serviceMonitor ? 1 : 0);
        if (sc.serviceMonitor) {
          const spec = monitors[0]!.spec as { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> };
          assert.ok(selects(spec.selector.matchLabels, services[0]!.metadata?.labels), 'the ServiceMonitor selects the metrics Service');
          assert.deepEqual(spec.endpoints.map((e) => [e.port, e.path]), [['metrics', '/metrics']]);
          assert.equal(monitors[0]!.metadata.labels?.release, 'kube-prometheus-stack');
        }
        for (const o of objs) {
          if (['ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'].includes(o.kind!)) {
            assert.equal(o.metadata.namespace, undefined);
          }
          else if (['Role', 'RoleBinding'].includes(o.kind!)) {
            const where = o.metadata.name.endsWith('-leader-election') ? [sc.leaseNamespace] : [...sc.watch, ...sc.secretReader];
            assert.ok(where.includes(o.metadata.namespace), `${o.kind} ${o.metadata.name} in ${o.metadata.namespace}`);
          }
          else assert.equal(o.metadata.namespace, NAMESPACE, `${o.kind} ${o.metadata.name}`);
        }
      });
    });
  }

  test('defaults: the chart passes exactly the CLI defaults (they cannot drift apart)', () => {
    const [d] = ofKind<V1Deployment>(render(SCENARIOS[0]!).objs, 'Deployment');
    const args = manager(d!).args!;
    assert.deepEqual(cliConfig(args), cliConfig(['run']));
  });

  test("the chart's Lease RBAC names the Lease the CLI uses by default", async () => {
    for (const taskQueue of ['clusterinventory', 'Tenant_A.queue']) {
      const objs = parseObjects(await helmTemplate(helm, { values: [{ taskQueue }] }));
      const role = ofKind(objs, 'Role').find((r) => r.metadata.name.endsWith('-leader-election')) as unknown as { rules: V1PolicyRule[] } | undefined;
      assert.ok(role, taskQueue);
      assert.deepEqual(role.rules.find((r) => r.verbs.includes('update'))?.resourceNames, [defaultLeaseName(taskQueue)], taskQueue);
    }
  });

  test('every flag of run, worker and watcher is a chart value', () => {
    const flags = [...USAGE.matchAll(/^\s+(--[a-z-]+)\s/gm)].map((m) => m[1]!);
    assert.ok(flags.length >= 12, `flags found in USAGE: ${flags.join(' ')}`);
    // Optional flags (provider file, namespaces) are rendered only when set: look at every scenario.
    const rendered = SCENARIOS.flatMap((sc) => ofKind<V1Deployment>(render(sc).objs, 'Deployment').flatMap((d) => manager(d).args!)).map((a) => a.split('=')[0]);
    const missing = flags.filter((f) => !rendered.includes(f));
    assert.deepEqual(missing, [], 'flags the chart cannot set: add a value to values.yaml, values.schema.json and cit.args');
  });

  test('TLS, API key, provider file and plugin volumes are wired', () => {
    const sc = SCENARIOS.find((s) => s.name.startsWith('TLS'))!;
    const { objs } = render(sc);
    const [d] = ofKind<V1Deployment>(objs, 'Deployment');
    const pod = d!.spec!.template.spec!;
    const c = manager(d!);
    assert.equal(envValue(c, 'TEMPORAL_TLS'), 'true');
    assert.equal(envValue(c, 'TEMPORAL_TLS_SERVER_NAME'), 'clusterinventory.a1b2c.tmprl.cloud');
    const tlsMount = c.volumeMounts?.find((m) => m.mountPath === '/etc/temporal/tls');
    assert.ok(tlsMount?.readOnly);
    assert.equal(pod.volumes?.find((v) => v.name === tlsMount.name)?.secret?.secretName, 'temporal-mtls');
    assert.deepEqual(
      ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'].map((n) => envValue(c, n)),
      ['/etc/temporal/tls/tls.crt', '/etc/temporal/tls/tls.key', '/etc/temporal/tls/ca.crt'],
    );
    const apiKey = c.env?.find((e) => e.name === 'TEMPORAL_API_KEY');
    assert.deepEqual(apiKey?.valueFrom?.secretKeyRef, { name: 'temporal-api-key', key: 'key' });
    assert.equal(apiKey?.value, undefined, 'the API key is never inlined');

    // The provider file: a ConfigMap the real parser accepts, mounted where the flag points.
    const flag = c.args!.find((a) => a.startsWith('--clusterprofile-provider-file='));
    assert.equal(flag, '--clusterprofile-provider-file=/etc/clusterinventory/providers.json');
    const cm = ofKind(objs, 'ConfigMap')[0] as unknown as { metadata: { name: string }; data: Record<string, string> };
    const file = parseProviderFile(cm.data['providers.json']!, 'providers.json');
    assert.deepEqual(file.providers.map((x) => [x.name, x.execConfig.command, x.profileSourcedCLIArgsPolicy]), [['eks', '/plugins/aws-iam-authenticator', 'Append']]);
    const mount = c.volumeMounts?.find((m) => m.mountPath === '/etc/clusterinventory');
    assert.equal(pod.volumes?.find((v) => v.name === mount?.name)?.configMap?.name, cm.metadata.name);
    assert.match(d!.spec!.template.metadata?.annotations?.['checksum/providers'] ?? '', /^[0-9a-f]{64}$/, 'pods roll when the providers change');

    // extraVolumes / extraVolumeMounts / extraInitContainers / extraEnv for exec plugins.
    assert.ok(pod.volumes?.some((v) => v.name === 'plugins' && v.emptyDir));
    assert.ok(c.volumeMounts?.some((m) => m.name === 'plugins' && m.mountPath === '/plugins'));
    assert.deepEqual(pod.initContainers?.map((x) => x.name), ['plugins']);
    assert.ok(envValue(c, 'AWS_ROLE_ARN'));
    const cfg = cliConfig(c.args!);
    assert.equal(cfg.providerFile, '/etc/clusterinventory/providers.json');
  });

  test('the CLI accepts --metrics-addr, and its usage text documents it', () => {
    const [d] = ofKind<V1Deployment>(render(SCENARIOS[0]!).objs, 'Deployment');
    assert.deepEqual(cliConfig(manager(d!).args!).metricsAddr, { host: '0.0.0.0', port: 9464 });
    assert.match(USAGE, /--metrics-addr /);
  });

  test('deploy/manifests/clusterinventory-temporal.yaml equals a fresh render of the defaults', async () => {
    const committed = await readFile(MANIFEST_FILE, 'utf8');
    const fresh = await renderDefaultManifests(helm);
    assert.ok(committed === fresh, 'deploy/manifests is stale: run `npx tsx tools/helm/render.ts` and commit the result');
    assert.equal(ofKind(parseObjects(committed), 'Deployment')[0]?.metadata.name, RELEASE);
  });

  test('deploy/README.md registers exactly the search attributes of workflows/api.ts', async () => {
    const readme = await readFile(join(repoRoot, 'deploy', 'README.md'), 'utf8');
    const expected = SEARCH_ATTRIBUTE_DECLARATIONS.map((d) => `${d.name}=${d.type}`).sort();
    // One attribute per command: the CLI pairs each --name with the --type at the same position.
    const temporal = [...readme.matchAll(/^temporal operator search-attribute create .*--name (\w+) --type (\w+)$/gm)].map((m) => `${m[1]}=${m[2]}`);
    assert.deepEqual(temporal.sort(), expected, 'temporal operator search-attribute create');
    const tcld = [...readme.matchAll(/--search-attribute "(\w+=\w+)"/g)].map((m) => m[1]!);
    assert.deepEqual(tcld.sort(), expected, 'tcld namespace search-attributes add');
  });

  describe('against the local kube-apiserver', () => {
    let kc: KubeConfig;
    let apply: (obj: Obj) => Promise<void>;

    before(async () => {
      kc = kubeConfig();
      apply = dryRunApplier(kc);
      await ensureNamespaces(kc, [NAMESPACE, WATCH_A, WATCH_B, SOURCE_NS]);
    });

    test('the strict dry run catches a misspelt field (control)', async () => {
      const [d] = ofKind(render(SCENARIOS[0]!).objs, 'Deployment');
      const broken = structuredClone(d!) as unknown as V1Deployment & Obj;
      (broken.spec!.template.spec!.containers[0] as unknown as Record<string, unknown>).livenessProbes = {};
      await assert.rejects(apply(broken), /livenessProbes/);
    });

    test('server-side dry run (dryRun=All, fieldValidation=Strict) of the committed manifests', async () => {
      const objs = parseObjects(await readFile(MANIFEST_FILE, 'utf8'));
      assert.ok(objs.length >= 6);
      for (const o of objs) await apply(o);
    });

    for (const sc of SCENARIOS) {
      test(`server-side dry run of every rendered object: ${sc.name}`, async (t) => {
        for (const o of render(sc).objs) {
          if (o.kind === 'ServiceMonitor') {
            // The prometheus-operator CRDs are not installed on the local apiserver; the object's shape is asserted above.
            t.diagnostic('ServiceMonitor skipped: monitoring.coreos.com/v1 is not served locally');
            continue;
          }
          await apply(o);
        }
      });
    }

    test('the rendered RBAC, applied for real, allows what the process does and denies its neighbours', async () => {
      const authz = kc.makeApiClient(AuthorizationV1Api);
      const realApply = new KubernetesObjectApi(
        createConfiguration({ baseServer: new ServerConfiguration(kc.getCurrentCluster()!.server, {}), authMethods: { default: kc } }),
      );
      const can = async (sa: string, x: Permission, namespace: string, subresource?: string, name?: string): Promise<boolean> => {
        const review = await authz.createSubjectAccessReview({
          body: {
            spec: {
              user: `system:serviceaccount:${NAMESPACE}:${sa}`,
              groups: ['system:serviceaccounts', `system:serviceaccounts:${NAMESPACE}`, 'system:authenticated'],
              resourceAttributes: { verb: x.verb, group: x.group, resource: x.resource, namespace, ...(subresource ? { subresource } : {}), ...(name ? { name } : {}) },
            },
          },
        });
        return review.status?.allowed === true;
      };
      const cases: Array<{ values: Record<string, unknown>; check: (release: string) => Promise<void> }> = [
        {
          values: {},
          check: async (release) => {
            const sa = `${release}-clusterinventory-temporal`;
            for (const x of NEEDS.run) {
              for (const ns of ['', WATCH_A]) {
                if (ns === '' && !['list', 'watch'].includes(x.verb)) continue;
                assert.ok(await can(sa, x, ns), `run may ${key(x)} in "${ns}"`);
              }
            }
            for (const x of [p('update', ...SECRETS), p('deletecollection', ...SECRETS), p('update', ...CP), p('delete', ...CP), p('create', ...CP), p('update', ...SC), p('create', '', 'configmaps'), p('create', '', 'pods'), p('list', '', 'namespaces')]) {
              assert.equal(await can(sa, x, WATCH_A), false, `run may not ${key(x)}`);
            }
            assert.equal(await can(sa, p('patch', ...CP), WATCH_A, 'status'), false, 'no ClusterProfile status writes');
            const lease = defaultLeaseName('clusterinventory');
            for (const x of LEADER_ELECTION) assert.ok(await can(sa, x, NAMESPACE, undefined, x.verb === 'create' ? undefined : lease), `run may ${key(x)} ${lease}`);
            assert.equal(await can(sa, p('update', ...LEASES), NAMESPACE, undefined, 'kube-scheduler'), false, 'no other Lease');
            assert.equal(await can(sa, p('update', ...LEASES), WATCH_A, undefined, lease), false, 'no Lease outside the release namespace');
            assert.equal(await can(sa, p('patch', ...SC), WATCH_A, 'status'), false, 'no SveltosCluster status writes');
          },
        },
        {
          values: { mode: 'split' },
          check: async (release) => {
            const worker = `${release}-clusterinventory-temporal-worker`;
            const watcher = `${release}-clusterinventory-temporal-watcher`;
            for (const x of WORKER) assert.ok(await can(worker, x, WATCH_A), `worker may ${key(x)}`);
            for (const x of WATCHER) assert.ok(await can(watcher, x, ''), `watcher may ${key(x)} cluster-wide`);
            for (const x of WATCHER) assert.equal(await can(worker, x, WATCH_A), false, `worker may not ${key(x)}`);
            for (const x of WORKER) assert.equal(await can(watcher, x, WATCH_A), false, `watcher may not ${key(x)}`);
            assert.ok(await can(watcher, p('update', ...LEASES), NAMESPACE, undefined, defaultLeaseName('clusterinventory')), 'the watcher renews its Lease');
            assert.equal(await can(worker, p('get', ...LEASES), NAMESPACE, undefined, defaultLeaseName('clusterinventory')), false, 'the worker takes no part in the election');
          },
        },
        {
          values: { watchNamespaces: [WATCH_A], secretReaderNamespaces: [SOURCE_NS] },
          check: async (release) => {
            const sa = `${release}-clusterinventory-temporal`;
            for (const x of NEEDS.run) assert.ok(await can(sa, x, WATCH_A), `may ${key(x)} in ${WATCH_A}`);
            for (const x of SECRET_READ.run) assert.ok(await can(sa, x, SOURCE_NS), `may ${key(x)} in ${SOURCE_NS}`);
            for (const x of [p('create', ...SECRETS), p('patch', ...SECRETS), p('delete', ...SECRETS), p('list', ...CP)]) {
              assert.equal(await can(sa, x, SOURCE_NS), false, `may not ${key(x)} in ${SOURCE_NS}`);
            }
            for (const x of NEEDS.run) assert.equal(await can(sa, x, WATCH_B), false, `may not ${key(x)} in ${WATCH_B}`);
            assert.equal(await can(sa, p('get', ...SECRETS), 'kube-system'), false, 'no Secrets outside the configured namespaces');
            assert.equal(await can(sa, p('list', ...CP), ''), false, 'no cluster-wide list');
          },
        },
      ];
      for (const { values, check } of cases) {
        const release = uniqueName('cit-rbac');
        const objs = parseObjects(await helmTemplate(helm, { release, values: [values] })).filter((o) => /Role(Binding)?$/.test(o.kind!));
        assert.ok(objs.length > 0);
        try {
          for (const o of objs) await realApply.patch(o, undefined, undefined, 'clusterinventory-deploy-test', true, PatchStrategy.ServerSideApply);
          await check(release);
        } finally {
          for (const o of objs) await realApply.delete(o).catch(() => undefined);
        }
      }
    });
  });

});
