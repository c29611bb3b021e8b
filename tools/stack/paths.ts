// Where the local stack keeps its state (per checkout) and its build outputs (per user, shared by checkouts).
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const stackDir = join(repoRoot, '.stack');
export const envFile = join(stackDir, 'env');
export const stateFile = join(stackDir, 'state.json');

/** Build outputs live outside the repo, keyed by a hash of their inputs, so clones share them. */
export const cacheRoot =
  process.env.CLUSTERINVENTORY_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'clusterinventory-temporal');

export const kubetestenvModule = join(repoRoot, 'test', 'kubetestenv');
export const crdModule = join(repoRoot, 'test', 'crds');
