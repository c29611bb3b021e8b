// The "Temporal floor" workflow of tools/measure/dev-server-storage.ts: one local activity, then a
// durable sleep, like a converged profile waiting for its next refresh.
import { proxyLocalActivities, sleep } from '@temporalio/workflow';

const { touch } = proxyLocalActivities<{ touch(id: string): Promise<void> }>({ startToCloseTimeout: '10s' });

export async function trivialWorkflow(id: string): Promise<void> {
  await touch(id);
  await sleep('1 day');
}
