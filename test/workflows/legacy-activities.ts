// A recording implementation of the first release's activities (workflows/legacy/api.ts LegacyActivities)
// for tests of the legacy box: a first-release workflow that is being deleted still runs its own cleanup.
import type { CleanupResult, CredentialSyncResult, ProfileEvent, ProfileRef } from '../../workflows/api.js';
import type { ApplyResult, FinalizerResult, LegacyActivities } from '../../workflows/legacy/api.js';

export class MockLegacyActivities {
  /** Activity names in the order they were called; Events recorded by reason. */
  readonly calls: Array<keyof LegacyActivities> = [];
  readonly events: ProfileEvent[] = [];

  readonly activities: LegacyActivities = {
    ensureFinalizer: (): Promise<FinalizerResult> => this.called('ensureFinalizer', { gone: false, deleting: false }),
    syncCredentials: (): Promise<CredentialSyncResult> =>
      this.called('syncCredentials', { provider: 'mock-provider', fingerprint: 'fp-legacy', secretChanged: true, server: 'https://spoke.example:6443' }),
    applySveltosCluster: (): Promise<ApplyResult> => this.called('applySveltosCluster', { changed: true }),
    cleanup: (): Promise<CleanupResult> => this.called('cleanup', { sveltosClusterDeleted: true, secretDeleted: true, finalizerRemoved: true, skipped: [] }),
    recordEvent: (_ref: ProfileRef, event: ProfileEvent): Promise<void> => {
      this.events.push(event);
      return this.called('recordEvent', undefined);
    },
  };

  private called<R>(name: keyof LegacyActivities, result: R): Promise<R> {
    this.calls.push(name);
    return Promise.resolve(result);
  }
}

/** Routes each call to the mock of the profile it is about (by name). */
export function legacyDispatcher(mocks: ReadonlyMap<string, MockLegacyActivities>): LegacyActivities {
  const mockFor = (ref: ProfileRef): LegacyActivities => {
    const mock = mocks.get(ref.name);
    if (!mock) throw new Error(`no legacy mock for ${ref.name}`);
    return mock.activities;
  };
  return {
    ensureFinalizer: (ref) => mockFor(ref).ensureFinalizer(ref),
    syncCredentials: (ref) => mockFor(ref).syncCredentials(ref),
    applySveltosCluster: (ref) => mockFor(ref).applySveltosCluster(ref),
    cleanup: (ref) => mockFor(ref).cleanup(ref),
    recordEvent: (ref, event) => mockFor(ref).recordEvent(ref, event),
  };
}
