// Leadership as Prometheus metrics, next to ours and the SDK's on /metrics:
//   clusterinventory_leader{lease}                         1 while this process leads (signals), else 0
//   clusterinventory_leader_transitions_total{lease,transition}  acquired | lost | released
// Exactly one replica of a healthy install reports 1: alert on sum(clusterinventory_leader) != 1 for
// longer than the lease duration.
import type { MetricCounter, MetricGauge, MetricMeter } from '@temporalio/common';
import type { LeaderElectionStatus } from '../watcher/leader-election.js';

export const LEADER_METRIC = { leader: 'clusterinventory_leader', transitions: 'clusterinventory_leader_transitions_total' } as const;

export interface LeaderMetrics {
  /** Copies the election's state into the metrics (call on every change and periodically). */
  update(status: LeaderElectionStatus): void;
}

export function createLeaderMetrics(meter: MetricMeter): LeaderMetrics {
  const gauge: MetricGauge = meter.createGauge(LEADER_METRIC.leader, 'int', undefined, 'Whether this process holds the leader-election Lease and signals (1) or is a standby (0).');
  const counter: MetricCounter = meter.createCounter(LEADER_METRIC.transitions, undefined, 'Leadership transitions of this process: acquired, lost (renew deadline passed), released (shutdown).');
  const last = { acquired: 0, lost: 0, released: 0 };
  let first = true;
  return {
    update(status) {
      gauge.set(status.leader ? 1 : 0, { lease: status.lease });
      for (const k of Object.keys(last) as Array<keyof typeof last>) {
        const delta = status.transitions[k] - last[k];
        if (delta > 0 || first) counter.add(Math.max(0, delta), { lease: status.lease, transition: k });
        last[k] = status.transitions[k];
      }
      first = false;
    },
  };
}
