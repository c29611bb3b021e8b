// Keeps what Temporal shows of one ClusterProfile workflow in step with its status: search attributes, the
// status memo and the Web UI's current details (presentation.ts decides their values). Each upsert is a
// history event and a billable action, so only what changed since the last one is upserted.
import { setCurrentDetails, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { SearchAttr, type ProfileRef, type StatusMemo, type WorkflowStatus } from './api.js';
import { changedMemo, changedSearchAttributes, currentDetails, type SearchAttributeValues } from './presentation.js';

export class StatusPublisher {
  private readonly profile: string;
  /** Search attribute values as last upserted (or given at start / continue-as-new). */
  private readonly searchAttributes: SearchAttributeValues = searchAttributesAtStart();
  /** The memo as last upserted (or given at start / continue-as-new). */
  private memo: StatusMemo = { ...(workflowInfo().memo as StatusMemo | undefined) };
  /** The watcher sets it at start; a run continued from the first release carries it in the memo. */
  private readonly managedSinceMs = this.memo.managedSinceMs ?? workflowInfo().startTime.getTime();

  constructor(private readonly ref: ProfileRef) {
    this.profile = `${ref.namespace}/${ref.name}`;
  }

  /** Upserts what changed since the last upsert (search attributes, memo); nothing when nothing did. */
  publish(status: WorkflowStatus): void {
    const updates = changedSearchAttributes(this.ref, status, this.searchAttributes);
    if (updates.length > 0) upsertSearchAttributes(updates);
    const memo = changedMemo(status, this.managedSinceMs, this.memo);
    if (Object.keys(memo).length > 0) {
      upsertMemo(memo);
      this.memo = { ...this.memo, ...memo };
    }
    setCurrentDetails(currentDetails(this.profile, status));
  }
}

function searchAttributesAtStart(): SearchAttributeValues {
  const info = workflowInfo().typedSearchAttributes;
  const m: SearchAttributeValues = new Map();
  m.set(SearchAttr.namespace.name, info.get(SearchAttr.namespace) ?? null);
  m.set(SearchAttr.name.name, info.get(SearchAttr.name) ?? null);
  m.set(SearchAttr.phase.name, info.get(SearchAttr.phase) ?? null);
  m.set(SearchAttr.provider.name, info.get(SearchAttr.provider) ?? null);
  m.set(SearchAttr.credentialExpiry.name, info.get(SearchAttr.credentialExpiry)?.getTime() ?? null);
  m.set(SearchAttr.observedHash.name, info.get(SearchAttr.observedHash) ?? null);
  return m;
}
