// The managed ClusterProfiles as Temporal visibility sees them, streamed: the list calls behind
// `clusterinventory status` and the fleet gauges. The rows themselves are the shared read model
// (workflows/visibility.ts), which the watcher reads too.
import type { Client } from '@temporalio/client';
import { DEFAULT_PAGE_SIZE, FilterError, checkFilter, profilesQuery, rowFromExecution, type ProfileFilter, type ProfileRow } from '../workflows/visibility.js';

/**
 * Streams the rows of every matching workflow, page by page (visibility pages are fetched lazily: memory
 * stays at one page whatever the number of profiles). Eventually consistent, like all of visibility.
 */
export async function* listProfiles(client: Client, filter: ProfileFilter = {}, pageSize = DEFAULT_PAGE_SIZE): AsyncGenerator<ProfileRow> {
  for await (const info of client.workflow.list({ query: profilesQuery(filter), pageSize })) {
    const row = rowFromExecution(info);
    if (row) yield row;
  }
}

/** "namespace/name" → its parts, checked. */
export function parseProfileName(text: string): { namespace: string; name: string } {
  const parts = text.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw new FilterError(`expected NAMESPACE/NAME, got ${JSON.stringify(text)}`);
  const [namespace, name] = parts as [string, string];
  checkFilter({ namespace, name });
  return { namespace, name };
}
