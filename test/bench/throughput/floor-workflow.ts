// The Temporal floor's workflow (the bundle entry: workflow exports only): what any Temporal-based
// controller needs at the least for one cluster. Started by signal-with-start, it runs one activity
// (local or regular), then sleeps like an idle ClusterProfile workflow waiting for its next refresh.
// Deterministic: imports only the workflow SDK and the contract.
import { proxyActivities, proxyLocalActivities, setHandler, sleep } from '@temporalio/workflow';
import { floorSignal, type FloorActivities, type FloorInput } from './floor-contract.js';

const regular = proxyActivities<FloorActivities>({ startToCloseTimeout: '1m' });
const local = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '1m' });

export async function throughputFloorWorkflow(input: FloorInput): Promise<void> {
  setHandler(floorSignal, () => undefined);
  await (input.activity === 'local' ? local : regular).sync(input.key);
  await sleep('1 day');
}
