// What a worker registers: the current activities and, while workflows started by the first release may
// still run, that release's own (workflows/legacy/api.ts). Deleting the legacy box drops the second half.
// A module of its own so that the contract (api.ts) and the legacy box's contract need not import each other.
import type { ProfileActivities } from './api.js';
import type { LegacyActivities } from './legacy/api.js';

export type ReconcileActivities = ProfileActivities & LegacyActivities;
