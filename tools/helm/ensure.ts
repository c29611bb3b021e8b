// Helm, built from its Go module once per (version, Go version) and kept in the shared build cache
// outside the repo, like the other local servers (tools/stack/build.ts). Used by the deploy tests and
// to render deploy/manifests; `npm run stack -- test-prereqs` (run by the test path) builds it and exports HELM_PATH in .stack/env.
import { join } from 'node:path';
import { buildInto, goInstall, goVersion, hash } from '../stack/build.js';
import { withBuildProgress } from '../stack/build-progress.js';
import { cacheRoot } from '../stack/paths.js';

export const HELM_VERSION = 'v3.21.4';
/**
 * The Kubernetes version Helm assumes without a cluster (`helm template`, `helm lint`), set like
 * upstream's Makefile does: from the k8s.io/client-go it is built with (v0.36.2 → 1.36).
 */
export const HELM_KUBE_VERSION = { major: '1', minor: '36' };

export function helmLdflags(): string {
  return [
    '-s -w',
    `-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`,
    `-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=${HELM_KUBE_VERSION.major}`,
    `-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${HELM_KUBE_VERSION.minor}`,
    `-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=${HELM_KUBE_VERSION.major}`,
    `-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${HELM_KUBE_VERSION.minor}`,
  ].join(' ');
}

let pending: Promise<string> | undefined;

/** Returns the path of a helm binary, building it on first use (cold: a few minutes on 2 cores). */
export function ensureHelm(): Promise<string> {
  return (pending ??= build().catch((e: unknown) => {
    pending = undefined;
    throw e;
  }));
}

async function build(): Promise<string> {
  const gv = await goVersion();
  const ldflags = helmLdflags();
  const key = hash([HELM_VERSION, gv, ldflags]);
  return buildInto(join(cacheRoot, 'helm', `${HELM_VERSION}-${key}`), 'helm', (out) =>
    withBuildProgress(
      {
        target: 'helm',
        what: `helm ${HELM_VERSION} (for the deploy tests)`,
        coldHint: 'About 1.5 min with a warm Go cache, a few minutes cold.',
      },
      // GOTOOLCHAIN=local and CGO_ENABLED=0 come from goEnv(); `go install pkg@version` uses the module's own go.mod.
      () => goInstall(`helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`, ldflags, out),
    ),
  );
}
