// What the Temporal floor's workflow, its process and the benchmark share.
import { defineSignal } from '@temporalio/workflow';

export const FLOOR_WORKFLOW_TYPE = 'throughputFloorWorkflow';

/** Same name as the controller's start signal, so that the request has the same shape. */
export const floorSignal = defineSignal<[unknown]>('profileChanged');

export interface FloorActivities {
  sync(key: string): Promise<{ changed: boolean }>;
}

export interface FloorInput {
  key: string;
  activity: 'local' | 'regular';
}
