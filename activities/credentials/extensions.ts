// Lookup of `cluster.extensions[]` entries by name. client-go refuses a cluster whose extensions
// repeat a name, and picking one of two silently would make the result depend on list order.
import { InvalidInputError } from '../errors.js';
import type { KubeconfigCluster } from '../kube/types.js';

/** "status.accessProviders[0].cluster.extensions[client.authentication.k8s.io/exec]". */
export function extensionField(providerField: string, extensionName: string): string {
  return `${providerField}.cluster.extensions[${extensionName}]`;
}

/** The extension object, or undefined when the cluster does not carry that extension. */
export function findExtension(
  cluster: KubeconfigCluster | undefined,
  name: string,
  object: string,
  providerField: string,
): { value: unknown } | undefined {
  const extensions: unknown = cluster?.extensions;
  if (extensions === undefined || extensions === null) return undefined;
  if (!Array.isArray(extensions)) throw new InvalidInputError(object, `${providerField}.cluster.extensions`, 'must be a list');
  const matches = extensions.filter(
    (e): e is { name: string; extension?: unknown } => typeof e === 'object' && e !== null && (e as { name?: unknown }).name === name,
  );
  if (matches.length > 1) throw new InvalidInputError(object, extensionField(providerField, name), `appears ${matches.length} times; names must be unique`);
  const match = matches[0];
  return match ? { value: match.extension } : undefined;
}
