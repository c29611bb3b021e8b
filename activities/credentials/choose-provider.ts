// Which access provider a ClusterProfile is served by (SPEC §2). The profile's list order never
// matters; the built-in Secret reader wins, then the provider file's order decides.
import { InvalidInputError } from '../errors.js';
import { SECRET_READER_PROVIDER, type AccessProvider, type ClusterProfile } from '../kube/types.js';
import { quoted } from '../../workflows/text.js';
import { describeProfile } from './names.js';
import type { ProviderConfig, ProviderFile } from './provider-file.js';

/** An access provider together with where it sits in the profile, for error messages. */
export interface LocatedAccessProvider {
  readonly provider: AccessProvider;
  /** "status.accessProviders[2]" or "status.credentialProviders[0]". */
  readonly field: string;
}

export type ProviderChoice =
  | ({ readonly kind: 'secret-reader' } & LocatedAccessProvider)
  | ({ readonly kind: 'exec'; readonly config: ProviderConfig } & LocatedAccessProvider);

/**
 * accessProviders, then the deprecated credentialProviders whose name accessProviders lacks.
 * Within one list the CRD keeps names unique; should a hand-made object repeat one, the first counts.
 */
export function carriedAccessProviders(profile: Pick<ClusterProfile, 'status'>): LocatedAccessProvider[] {
  const byName = new Map<string, LocatedAccessProvider>();
  const add = (list: AccessProvider[] | undefined, listField: string) => {
    (list ?? []).forEach((provider, i) => {
      if (typeof provider?.name !== 'string' || byName.has(provider.name)) return;
      byName.set(provider.name, { provider, field: `${listField}[${i}]` });
    });
  };
  add(profile.status?.accessProviders, 'status.accessProviders');
  add(profile.status?.credentialProviders, 'status.credentialProviders');
  return [...byName.values()];
}

export function chooseProvider(profile: Pick<ClusterProfile, 'metadata' | 'status'>, providerFile: ProviderFile): ProviderChoice {
  const carried = carriedAccessProviders(profile);
  const byName = new Map(carried.map((c) => [c.provider.name, c] as const));

  const builtin = byName.get(SECRET_READER_PROVIDER);
  if (builtin) return { kind: 'secret-reader', ...builtin };

  for (const config of providerFile.providers) {
    const match = byName.get(config.name);
    if (match) return { kind: 'exec', config, ...match };
  }

  // Profile-sourced names: each escaped and capped, and at most ten of them.
  const names = carried.slice(0, 10).map((c) => quoted(c.provider.name, 64));
  if (carried.length > 10) names.push(`and ${carried.length - 10} more`);
  const supported = [SECRET_READER_PROVIDER, ...providerFile.providers.map((p) => p.name)].map((n) => `"${n}"`);
  throw new InvalidInputError(
    describeProfile(profile),
    'status.accessProviders',
    `no supported access provider: the profile carries ${names.length ? names.join(', ') : 'none'}; ` +
      `this controller supports ${supported.join(', ')}`,
  );
}
