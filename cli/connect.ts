// A Temporal client for the operator commands (status, refresh), from the same settings the worker
// reads (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE /
// TEMPORAL_CONFIG_FILE). It uses the pure-JavaScript gRPC connection: a short-lived command needs
// no Core runtime (no worker threads, no native logger to silence).
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';

export interface CliClient {
  client: Client;
  namespace: string;
  address: string;
  close(): Promise<void>;
}

export async function connectClient(env: NodeJS.ProcessEnv): Promise<CliClient> {
  const overrideEnvVars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const { connectionOptions: o, namespace } = loadClientConnectConfig({
    ...(env.TEMPORAL_PROFILE ? { profile: env.TEMPORAL_PROFILE } : {}),
    overrideEnvVars,
  });
  const address = o.address ?? 'localhost:7233';
  const ns = namespace ?? 'default';
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address,
      ...(o.tls !== undefined ? { tls: o.tls } : {}),
      ...(o.apiKey !== undefined ? { apiKey: o.apiKey } : {}),
      ...(o.metadata !== undefined ? { metadata: o.metadata } : {}),
      connectTimeout: 10_000,
    });
  } catch (e) {
    throw new Error(`cannot connect to Temporal at ${address} (namespace ${ns}; set TEMPORAL_ADDRESS / TEMPORAL_PROFILE): ${(e as Error).message}`);
  }
  return { client: new Client({ connection, namespace: ns }), namespace: ns, address, close: () => connection.close() };
}

/**
 * The Web UI page of a workflow: `<ui>/namespaces/<ns>/workflows/<workflowId>[/<runId>]`. Without a run
 * ID the UI redirects to the latest run, which is what an operator wants: a long-lived workflow continues
 * as new, and a run ID printed today names a closed run tomorrow.
 */
export function workflowUiUrl(uiBase: string, namespace: string, workflowId: string, runId?: string): string {
  const base = uiBase.replace(/\/+$/, '');
  const page = `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId === undefined ? page : `${page}/${encodeURIComponent(runId)}`;
}
