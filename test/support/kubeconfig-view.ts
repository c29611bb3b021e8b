// What a kubeconfig connects to and as whom: the current context's cluster and user, resolved. Tests use
// it to compare a managed kubeconfig (rendered by us) with its source, which no longer match byte for
// byte: the source may carry other contexts, comments, extensions and any formatting.
import { parse } from 'yaml';

export interface KubeconfigSelection {
  context: string;
  namespace?: string;
  cluster: Record<string, unknown>;
  user: Record<string, unknown>;
}

interface Named {
  name: string;
  [item: string]: unknown;
}

/** The selected user's token, or undefined when the text is missing or no kubeconfig: for polling a managed Secret. */
export function tokenIn(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : selectedContext(text).user.token;
  } catch {
    return undefined;
  }
}

export function selectedContext(text: string): KubeconfigSelection {
  const doc = parse(text) as { clusters?: Named[]; users?: Named[]; contexts?: Named[]; 'current-context'?: string };
  const contextName = doc['current-context'] ?? '';
  const context = doc.contexts?.find((c) => c.name === contextName)?.context as { cluster: string; user: string; namespace?: string } | undefined;
  if (!context) throw new Error(`kubeconfig has no current context "${contextName}"`);
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster as Record<string, unknown> | undefined;
  const user = doc.users?.find((u) => u.name === context.user)?.user as Record<string, unknown> | undefined;
  if (!cluster || !user) throw new Error(`kubeconfig context "${contextName}" names a missing cluster or user`);
  const selection: KubeconfigSelection = { context: contextName, cluster, user };
  if (context.namespace) selection.namespace = context.namespace;
  return selection;
}
