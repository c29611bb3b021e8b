// Which ClusterProfiles read which source Secret (kubeconfig-secretreader), and so which namespaces need
// a (metadata-only) Secret informer. In memory, no I/O. Which Secret a profile reads, and whether its
// namespace is allowed, is the profile model's decision (snapshot.ts sourceSecretOf).
import { secretKey } from './snapshot.js';

export interface IndexChange {
  /** Namespaces that now hold a watched source Secret and did not before. */
  addedNamespaces: string[];
  /** Namespaces that no longer hold any. */
  removedNamespaces: string[];
}

export class SourceSecretIndex {
  private readonly byProfile = new Map<string, string[]>();
  private readonly bySecret = new Map<string, Set<string>>();
  private readonly namespaceRefs = new Map<string, number>();

  /** Records the source Secrets of profile `uid` (replacing what it had). */
  set(uid: string, refs: ReadonlyArray<{ namespace: string; name: string }>): IndexChange {
    const keys = [...new Set(refs.map(secretKey))];
    const before = this.byProfile.get(uid) ?? [];
    const change: IndexChange = { addedNamespaces: [], removedNamespaces: [] };
    for (const key of before) {
      if (keys.includes(key)) continue;
      const users = this.bySecret.get(key);
      users?.delete(uid);
      if (users && users.size === 0) this.bySecret.delete(key);
      const ns = namespaceOf(key);
      const n = (this.namespaceRefs.get(ns) ?? 1) - 1;
      if (n <= 0) {
        this.namespaceRefs.delete(ns);
        change.removedNamespaces.push(ns);
      } else this.namespaceRefs.set(ns, n);
    }
    for (const key of keys) {
      if (before.includes(key)) continue;
      let users = this.bySecret.get(key);
      if (!users) this.bySecret.set(key, (users = new Set()));
      users.add(uid);
      const ns = namespaceOf(key);
      const n = this.namespaceRefs.get(ns) ?? 0;
      if (n === 0) change.addedNamespaces.push(ns);
      this.namespaceRefs.set(ns, n + 1);
    }
    if (keys.length) this.byProfile.set(uid, keys);
    else this.byProfile.delete(uid);
    // A profile moving from one Secret to another in the same namespace: that namespace stays.
    const both = change.removedNamespaces.filter((ns) => change.addedNamespaces.includes(ns));
    change.removedNamespaces = change.removedNamespaces.filter((ns) => !both.includes(ns));
    change.addedNamespaces = change.addedNamespaces.filter((ns) => !both.includes(ns));
    return change;
  }

  delete(uid: string): IndexChange {
    return this.set(uid, []);
  }

  /** uids of the profiles reading Secret "namespace/name". */
  profilesUsing(key: string): string[] {
    return [...(this.bySecret.get(key) ?? [])];
  }

  secretsOf(uid: string): string[] {
    return [...(this.byProfile.get(uid) ?? [])];
  }

  namespaces(): string[] {
    return [...this.namespaceRefs.keys()];
  }
}

function namespaceOf(key: string): string {
  return key.slice(0, key.indexOf('/'));
}
