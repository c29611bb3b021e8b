// Temporal connection from the standard TEMPORAL_* environment and envconfig profiles
// (address, namespace, TLS/mTLS, API key): the same settings the temporal CLI reads.
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

export interface TemporalHandles {
  connection: NativeConnection;
  client: Client;
  namespace: string;
  address: string;
}

export async function connectTemporal(env: NodeJS.ProcessEnv = process.env): Promise<TemporalHandles> {
  const { connectionOptions, namespace } = loadClientConnectConfig({ ...(env.TEMPORAL_PROFILE ? { profile: env.TEMPORAL_PROFILE } : {}) });
  const address = connectionOptions.address ?? 'localhost:7233';
  const ns = namespace ?? 'default';
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(connectionOptions);
  } catch (e) {
    throw new Error(`cannot connect to Temporal at ${address} (namespace ${ns}; set TEMPORAL_ADDRESS / TEMPORAL_PROFILE): ${(e as Error).message}`);
  }
  return { connection, client: new Client({ connection, namespace: ns }), namespace: ns, address };
}
