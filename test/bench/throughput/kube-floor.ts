// The Kubernetes write floor: what the API server needs for the three writes a controller makes per new
// ClusterProfile (finalizer patch, Secret create, SveltosCluster create), from a plain client with
// keep-alive connections and `concurrency` profiles in flight, in the same run and on the same server
// as the controller. The objects are the ones the controller writes (activities/kube/desired.ts).
import { performance } from 'node:perf_hooks';
import { desiredSecret, desiredSveltosCluster } from '../../../activities/kube/desired.js';
import { FINALIZER, type ClusterProfile } from '../../../activities/kube/types.js';
import { spokeKubeconfig } from '../../support/e2e.js';
import { pool } from '../support.js';
import { waitQuiet } from './apiserver-requests.js';
import { Fleet, profileName } from './fleet.js';
import { KubeHttp, paths } from './kube-http.js';
import { CpuMeter } from './proc.js';

export interface KubeFloorResult {
  profiles: number;
  concurrency: number;
  writes: number;
  seconds: number;
  writesPerSecond: number;
  /** kube-apiserver (with its embedded etcd) CPU seconds per profile. */
  apiServerCpuMsPerProfile: number;
}

export async function runKubeFloor(opts: { namespace: string; profiles: number; concurrency: number; apiServerPid: number; log: (s: string) => void }): Promise<KubeFloorResult> {
  // Its own connections, as many as profiles in flight: a plain client's connection pool.
  const kube = new KubeHttp(opts.concurrency);
  const fleet = new Fleet(kube, opts.namespace);
  const kubeconfig = spokeKubeconfig('bench-token');
  try {
    await fleet.create();
    const names = Array.from({ length: opts.profiles }, (_, i) => profileName('floor', i));
    await pool(names, 16, (name) => fleet.createProfileObject(name));
    opts.log(`  ${names.length} ClusterProfiles created; writing…`);

    const cpu = new CpuMeter({ apiServer: opts.apiServerPid });
    const t0 = performance.now();
    await pool(names, opts.concurrency, async (name) => {
      const { body: profile } = await kube.request<ClusterProfile>(
        'PATCH',
        `${paths.clusterProfiles(opts.namespace)}/${name}`,
        { metadata: { finalizers: [FINALIZER] } },
        { contentType: 'application/merge-patch+json' },
      );
      await kube.request('POST', paths.secrets(opts.namespace), desiredSecret(profile, kubeconfig));
      await kube.request('POST', paths.sveltosClusters(opts.namespace), desiredSveltosCluster(profile));
    });
    const seconds = (performance.now() - t0) / 1000;
    const { apiServer } = cpu.elapsed();
    return {
      profiles: names.length,
      concurrency: opts.concurrency,
      writes: names.length * 3,
      seconds,
      writesPerSecond: (names.length * 3) / seconds,
      apiServerCpuMsPerProfile: (apiServer * 1000) / names.length,
    };
  } finally {
    await fleet.destroy();
    await waitQuiet(kube).catch(() => 0);
    kube.close();
  }
}
