// How the controller reaches the API server: the server, the TLS settings and the credentials that
// http.ts and the watcher's transport put on each node:https request. Importing @kubernetes/client-node
// costs ~60 MiB of RSS (its KubeConfig imports the whole generated API), so the usual cases are read
// here (static-access.ts): a pod's ServiceAccount, or a kubeconfig whose user has static credentials
// (kubeconfig-file.ts). Anything else (exec plugins, auth providers, impersonation, proxies, several
// KUBECONFIG files, fields this code does not know) is handed to client-node, imported only then.
import { access, readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { delimiter, join } from 'node:path';
import { readKubeconfig } from './kubeconfig-file.js';
import { StaticKubeAccess, type StaticAccessOptions, type StaticAccessSpec } from './static-access.js';
import type https from 'node:https';

/**
 * What the HTTP helpers and the Lease's namespace default use of a kubeconfig. client-node's KubeConfig
 * has this shape (tests and embedders pass one), and so has StaticKubeAccess.
 */
export interface KubeAccess {
  getCurrentCluster(): { readonly server: string } | null;
  /** Sets TLS options, an agent and the credentials' headers; called per request (re-reads rotated files). */
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
  getCurrentContext(): string;
  getContextObject(name: string): { readonly namespace?: string } | null;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeAccessSources extends StaticAccessOptions {
  /** A kubeconfig file to use; without it: KUBECONFIG, then ~/.kube/config, then the pod's ServiceAccount. */
  path?: string;
  env?: NodeJS.ProcessEnv;
  /** Where the pod's ServiceAccount token, CA and namespace are mounted. */
  serviceAccountDir?: string;
  /** Told why @kubernetes/client-node is loaded after all (for a log line: it costs memory). */
  onClientNode?: (reason: string) => void;
}

type Source = { kubeconfig: string } | { kubeconfigs: string[] } | { inCluster: string };

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** The order client-node's loadFromDefault follows (and so the controller did before this loader). */
async function locate(src: KubeAccessSources, env: NodeJS.ProcessEnv): Promise<Source> {
  if (src.path) return { kubeconfig: src.path };
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (listed.length === 1) return { kubeconfig: listed[0]! };
  if (listed.length > 1) return { kubeconfigs: listed };
  const home = env.HOME ? join(env.HOME, '.kube', 'config') : undefined;
  if (home && (await exists(home))) return { kubeconfig: home };
  const dir = src.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (await exists(join(dir, 'token'))) return { inCluster: dir };
  throw new Error(`no Kubernetes configuration: KUBECONFIG is not set, ${home ?? '$HOME/.kube/config'} does not exist, and ${join(dir, 'token')} does not either (not in a pod)`);
}

/** A pod's ServiceAccount: the API server's Service from the environment, token and CA from the mounted files. */
async function inClusterSpec(dir: string, env: NodeJS.ProcessEnv, read: (path: string) => Promise<Buffer>): Promise<StaticAccessSpec> {
  const origin = `in-cluster config (${dir})`;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error(`${origin}: ${host ? 'KUBERNETES_SERVICE_PORT' : 'KUBERNETES_SERVICE_HOST'} is not set (the environment the kubelet gives a pod)`);
  const namespace = (await read(join(dir, 'namespace')).catch(() => Buffer.alloc(0))).toString('utf8').trim();
  return {
    origin,
    contextName: 'in-cluster',
    ...(namespace ? { namespace } : {}),
    // Always https, as client-go's InClusterConfig.
    server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    skipTLSVerify: false,
    ca: { field: 'ca.crt', file: join(dir, 'ca.crt') },
    token: { field: 'token', file: join(dir, 'token') },
  };
}

/** client-node's KubeConfig from these files, merged as its loadFromDefault merges KUBECONFIG's list. */
async function clientNodeAccess(paths: string[]): Promise<KubeAccess> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(paths[0]!);
  for (const path of paths.slice(1)) {
    const more = new KubeConfig();
    more.loadFromFile(path);
    kc.mergeConfig(more);
  }
  return kc;
}

/**
 * The controller's Kubernetes access. Files are checked (read once) before it returns, so that a missing
 * or unreadable one fails the start naming the file and the field, not the first request.
 */
export async function loadKubeAccess(src: KubeAccessSources = {}): Promise<KubeAccess> {
  const env = src.env ?? process.env;
  const read = src.readFile ?? ((p: string) => readFile(p));
  const where = await locate(src, env);
  let spec: StaticAccessSpec;
  if ('kubeconfigs' in where) {
    src.onClientNode?.(`KUBECONFIG names ${where.kubeconfigs.length} files, which client-node merges`);
    return clientNodeAccess(where.kubeconfigs);
  } else if ('kubeconfig' in where) {
    const text = await read(where.kubeconfig).catch((err: unknown) => {
      throw new Error(`kubeconfig ${where.kubeconfig}: cannot read (${(err as { code?: string }).code ?? 'unknown error'})`);
    });
    const reading = readKubeconfig(text.toString('utf8'), where.kubeconfig);
    if ('needsClientNode' in reading) {
      src.onClientNode?.(reading.needsClientNode);
      return clientNodeAccess([where.kubeconfig]);
    }
    spec = reading.spec;
  } else {
    spec = await inClusterSpec(where.inCluster, env, read);
  }
  const loaded = new StaticKubeAccess(spec, { ...(src.now ? { now: src.now } : {}), readFile: read });
  await loaded.applyToHTTPSOptions({});
  return loaded;
}
