// The "what now" that `npm start` prints once the example ClusterProfile converged: where to watch it,
// how to list what is managed, and how to add a ClusterProfile of one's own. Pure text, unit-tested.

export interface WhatNowFacts {
  /** "namespace/name" of the example. */
  example: string;
  /** Seconds from `npm start` to the example's SveltosCluster and Secret. */
  convergedAfterS: number;
  secretName: string;
  workflowUiUrl: string;
  envFile: string;
  kubeconfig: string;
  /** The API server the example (and the suggested profile) points at. */
  server: string;
  /** The source Secret (in the example's namespace) holding the example's kubeconfig. */
  sourceSecret: string;
  /** Whether the reconciler keeps running after this is printed. */
  keepsRunning: boolean;
  /** The example's exec-plugin credential on the spoke. */
  credential: {
    serviceAccount: string;
    lifetimeS: number;
    plugin: string;
    expiresAt?: string;
    nextRefreshAt?: string;
  };
}

export function whatNow(f: WhatNowFacts): string {
  const namespace = f.example.split('/')[0]!;
  const status = {
    status: {
      accessProviders: [
        {
          name: 'kubeconfig-secretreader',
          cluster: { server: f.server, extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { name: f.sourceSecret, key: 'value' } }] },
        },
      ],
    },
  };
  const lines = [
    '',
    `Ready: ClusterProfile ${f.example} converged ${f.convergedAfterS.toFixed(1)} s after start: Secret ${namespace}/${f.secretName} and SveltosCluster ${f.example} written.`,
    `Its credential is a real ${f.credential.lifetimeS / 60}-minute token of ServiceAccount ${f.credential.serviceAccount} on the spoke ${f.server},`,
    `minted by the example exec plugin ${f.credential.plugin} with the TokenRequest API` +
      (f.credential.expiresAt ? ` (expires ${f.credential.expiresAt}` + (f.credential.nextRefreshAt ? `, refreshed at ${f.credential.nextRefreshAt}, 80% of its lifetime).` : ').') : '.'),
    '',
    'What now',
    '',
    "  1. Watch the example's workflow in the Temporal Web UI (every sync, refresh and retry is in its history):",
    `       ${f.workflowUiUrl}`,
    '',
    '  2. List every ClusterProfile this controller manages, with its phase and next refresh:',
    `       source ${f.envFile}`,
    '       npx clusterinventory status',
    `       npx clusterinventory status ${f.example}`,
    '',
    '  3. See that the spoke accepts the token Sveltos will use (the kubeconfig in the Secret we wrote):',
    `       export KUBECONFIG=${f.kubeconfig}`,
    `       kubectl -n ${namespace} get secrets ${f.secretName} -o jsonpath='{.data.kubeconfig}' | base64 -d > /tmp/spoke-1.kubeconfig`,
    '       kubectl --kubeconfig /tmp/spoke-1.kubeconfig auth whoami',
    '',
    `  4. Add a ClusterProfile of your own (this run watches namespace ${namespace}). This one uses the built-in`,
    `     kubeconfig-secretreader with the example's source Secret ${f.sourceSecret} (the spoke's kubeconfig):`,
    `       export KUBECONFIG=${f.kubeconfig}`,
    "       kubectl apply -f - <<'EOF'",
    '       apiVersion: multicluster.x-k8s.io/v1alpha1',
    '       kind: ClusterProfile',
    `       metadata: {name: my-cluster, namespace: ${namespace}}`,
    '       spec: {displayName: My cluster, clusterManager: {name: local}}',
    '       EOF',
    `       kubectl -n ${namespace} patch clusterprofiles.multicluster.x-k8s.io my-cluster --subresource=status --type=merge \\`,
    `         -p '${JSON.stringify(status)}'`,
    `       kubectl -n ${namespace} get sveltosclusters.lib.projectsveltos.io my-cluster   # within seconds`,
    '',
    f.keepsRunning
      ? 'The reconciler keeps running here; Ctrl-C stops it. The local servers keep running: `npm run stack -- down` stops them.'
      : 'The local servers keep running: `npm start` again takes seconds, `npm run stack -- down` stops them.',
    '',
  ];
  return lines.join('\n');
}
