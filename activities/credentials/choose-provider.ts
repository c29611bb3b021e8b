// Which access provider a ClusterProfile is served by (SPEC §2): decided by the shared profile model, so
// that the watcher and the activities cannot disagree. Kept as a module so existing imports stay valid.
export {
  carriedAccessProviders,
  chooseProvider,
  type LocatedAccessProvider,
  type ProviderChoice,
} from '../profile/model.js';
