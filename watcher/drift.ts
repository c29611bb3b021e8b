// Pure: did somebody else change one of our managed objects (the kubeconfig Secret, the SveltosCluster)?
// Decided from object metadata only (the watches are metadata-only): managedFields tell who wrote what.
//
//  - Deleted (or no longer labelled managed-by, which a label-selected watch reports as a deletion): drift.
//  - A field we own (an entry of FIELD_MANAGER on the main resource) disappeared from our set: somebody
//    removed it, or overwrote it with an Update (ownership moves to the writer) or a forced apply. Unless
//    our own entry changed in the same step (then we dropped it ourselves, e.g. a label removed from the
//    ClusterProfile). This catches "someone removed a label we set" on a SveltosCluster, while a label
//    somebody else adds (a field we do not own) is not drift.
//  - Secrets only: any write by another field manager on the main resource (a managedFields entry of
//    another manager that is new or changed). Nobody else has business writing our Secret. When the
//    previous state is unknown, the newest entry decides.
// Status subresource writes (sveltoscluster-manager's status) never count.
import type { V1ManagedFieldsEntry, V1ObjectMeta } from '@kubernetes/client-node';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, type ManagedKind } from '../activities/kube/types.js';
import { canonicalJson } from './snapshot.js';

export interface DriftVerdict {
  drift: boolean;
  /** Human-readable, for logs. */
  why: string;
}

/** managedFields entries as they arrive in JSON (time is an RFC 3339 string). */
type Entry = Omit<V1ManagedFieldsEntry, 'time'> & { time?: string | Date };

function entries(meta: Pick<V1ObjectMeta, 'managedFields'> | undefined): Entry[] {
  const mf: unknown = meta?.managedFields;
  return Array.isArray(mf) ? (mf as Entry[]) : [];
}

function mainResource(e: Entry): boolean {
  return e.subresource === undefined || e.subresource === null || e.subresource === '';
}

function timeOf(e: Entry): string {
  const t = e.time;
  if (t instanceof Date) return t.toISOString();
  return typeof t === 'string' ? t : '';
}

/** Flattens a FieldsV1 tree into its paths ("f:metadata/f:labels/f:env"); "." markers are dropped. */
export function fieldPaths(fieldsV1: unknown, prefix = ''): string[] {
  // Iterative (an explicit stack, preorder as a recursive walk would give): managedFields mirror objects
  // that others may write, and no object's depth may decide whether the watcher's stack holds.
  const out: string[] = [];
  const todo: Array<{ node: unknown; path: string | undefined }> = [{ node: fieldsV1, path: undefined }];
  for (let item = todo.pop(); item !== undefined; item = todo.pop()) {
    if (item.path !== undefined) out.push(item.path);
    if (typeof item.node !== 'object' || item.node === null) continue;
    const base = item.path ?? prefix;
    const children = Object.entries(item.node as Record<string, unknown>).filter(([k]) => k !== '.');
    for (let i = children.length - 1; i >= 0; i--) {
      const [k, v] = children[i] as [string, unknown];
      todo.push({ node: v, path: base ? `${base}/${k}` : k });
    }
  }
  return out;
}

/** Paths owned by `manager` on the main resource (any operation: Apply or Update). */
export function ownedPaths(meta: Pick<V1ObjectMeta, 'managedFields'> | undefined, manager: string): Set<string> {
  const out = new Set<string>();
  for (const e of entries(meta)) {
    if (e.manager !== manager || !mainResource(e)) continue;
    for (const p of fieldPaths(e.fieldsV1)) out.add(p);
  }
  return out;
}

function sameEntry(a: Entry, b: Entry): boolean {
  return timeOf(a) === timeOf(b) && canonicalJson(a.fieldsV1 ?? null) === canonicalJson(b.fieldsV1 ?? null);
}

function entryKey(e: Entry): string {
  return `${e.manager ?? ''}\u0000${e.operation ?? ''}\u0000${e.subresource ?? ''}`;
}

/** Managers other than `manager` that wrote the main resource between `old` and `cur`. */
export function foreignWriters(
  old: Pick<V1ObjectMeta, 'managedFields'> | undefined,
  cur: Pick<V1ObjectMeta, 'managedFields'>,
  manager: string,
): string[] {
  const now = entries(cur).filter((e) => mainResource(e) && e.manager !== manager);
  if (old === undefined) {
    // No previous state: the newest main-resource entry decides.
    const newest = entries(cur)
      .filter(mainResource)
      .reduce<Entry | undefined>((best, e) => (best === undefined || timeOf(e) > timeOf(best) ? e : best), undefined);
    return newest && newest.manager !== manager ? [newest.manager ?? '(unknown)'] : [];
  }
  const before = new Map(entries(old).map((e) => [entryKey(e), e] as const));
  const writers = new Set<string>();
  for (const e of now) {
    const prev = before.get(entryKey(e));
    if (!prev || !sameEntry(prev, e)) writers.add(e.manager ?? '(unknown)');
  }
  return [...writers];
}

/** Our own entries changed between old and cur: the change (or part of it) was ours. */
function ourEntriesChanged(old: Pick<V1ObjectMeta, 'managedFields'>, cur: Pick<V1ObjectMeta, 'managedFields'>, manager: string): boolean {
  const mine = (m: Pick<V1ObjectMeta, 'managedFields'>) =>
    entries(m)
      .filter((e) => e.manager === manager && mainResource(e))
      .map((e) => `${entryKey(e)}@${timeOf(e)}`)
      .sort()
      .join('|');
  return mine(old) !== mine(cur);
}

export interface DriftInput {
  kind: ManagedKind;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** The previous metadata, when known (cached from the watch). */
  old?: Pick<V1ObjectMeta, 'managedFields' | 'resourceVersion' | 'labels'>;
  object: Pick<V1ObjectMeta, 'managedFields' | 'resourceVersion' | 'labels'>;
  fieldManager: string;
}

export function detectDrift(input: DriftInput): DriftVerdict {
  const { kind, type, old, object, fieldManager } = input;
  if (type === 'DELETED') {
    const labelled = object.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
    return { drift: true, why: labelled ? `${kind} deleted` : `${kind} no longer carries ${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}` };
  }
  if (type === 'ADDED') return { drift: false, why: 'created' };
  if (old?.resourceVersion !== undefined && old.resourceVersion === object.resourceVersion) {
    return { drift: false, why: 'unchanged resourceVersion' };
  }
  if (old) {
    const before = ownedPaths(old, fieldManager);
    const after = ownedPaths(object, fieldManager);
    const lost = [...before].filter((p) => !after.has(p));
    if (lost.length > 0 && !ourEntriesChanged(old, object, fieldManager)) {
      return { drift: true, why: `fields owned by ${fieldManager} were changed or removed by another writer: ${leafPaths(lost).join(', ')}` };
    }
  }
  if (kind === 'Secret') {
    const writers = foreignWriters(old, object, fieldManager);
    if (writers.length > 0) return { drift: true, why: `Secret modified by field manager ${writers.join(', ')}` };
  }
  return { drift: false, why: 'no foreign change to fields we own' };
}

/** The most specific paths only ("f:metadata/f:labels/f:env", not also "f:metadata/f:labels"). */
function leafPaths(paths: string[]): string[] {
  return paths.filter((p) => !paths.some((q) => q !== p && q.startsWith(`${p}/`)));
}
