// How deep a ClusterProfile's content may nest. Extension objects under status.accessProviders[].cluster are
// free-form (x-kubernetes-preserve-unknown-fields) and the API server stores them thousands of levels deep;
// code that walks them recursively (structuredClone, JSON.stringify, a canonicaliser) would overflow the
// stack on one profile's say-so. The profile model refuses such a profile up front, with the field, so every
// later step only ever sees shallow content. The walk itself is iterative.
import { InvalidInputError } from '../errors.js';

/**
 * Nesting levels allowed below the profile's root (status.accessProviders[0].cluster.extensions[0].extension
 * is already 7): real exec configurations need a handful; 64 leaves plenty and stays far from any stack limit.
 */
export const PROFILE_MAX_DEPTH = 64;

/** Path segments named in an error: enough to find the provider and the extension, not the whole chain. */
const PATH_SEGMENTS_SHOWN = 8;

/** The first field (a path from the root) whose value nests deeper than `maxDepth`, if any. */
export function tooDeepField(root: Record<string, unknown>, maxDepth = PROFILE_MAX_DEPTH): string | undefined {
  const todo: Array<{ value: unknown; depth: number; path: string[] }> = [{ value: root, depth: 0, path: [] }];
  for (let item = todo.pop(); item !== undefined; item = todo.pop()) {
    const { value, depth, path } = item;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > maxDepth) return fieldPath(path);
    // Only the first PATH_SEGMENTS_SHOWN segments are ever shown: deeper paths are not built.
    const child = (segment: string) => (path.length < PATH_SEGMENTS_SHOWN ? [...path, segment] : path);
    if (Array.isArray(value)) value.forEach((v: unknown, i) => todo.push({ value: v, depth: depth + 1, path: child(`[${i}]`) }));
    else for (const [k, v] of Object.entries(value)) todo.push({ value: v, depth: depth + 1, path: child(k) });
  }
  return undefined;
}

function fieldPath(path: string[]): string {
  const joined = path.reduce((acc, seg) => (seg.startsWith('[') ? `${acc}${seg}` : acc ? `${acc}.${seg}` : seg), '');
  return path.length >= PATH_SEGMENTS_SHOWN ? `${joined}…` : joined;
}

/** Throws InvalidInputError naming the field when the profile's status nests deeper than PROFILE_MAX_DEPTH. */
export function assertShallow(profile: { status?: unknown }, object: string): void {
  const field = tooDeepField({ status: profile.status });
  if (field === undefined) return;
  throw new InvalidInputError(
    object,
    field,
    `nests deeper than ${PROFILE_MAX_DEPTH} levels; the ClusterProfile is not processed until it is flattened ` +
      '(extension objects need only a few levels)',
  );
}
