// Connection reuse for Kubernetes requests. @kubernetes/client-node 1.4 builds a new https.Agent for every
// request (its authentication step does), so every request paid a TLS handshake: a third of the
// controller's CPU in the throughput benchmark (docs/performance.md). Requests keep their per-request
// agent's TLS settings, but share one keep-alive agent per distinct setting.
import { createHash } from 'node:crypto';
import https from 'node:https';

/** Idle connections kept per agent; more are opened under load and closed when idle. */
const MAX_FREE_SOCKETS = 16;

export class KeepAliveAgents {
  private readonly agents = new Map<string, https.Agent>();

  /** The shared keep-alive agent with the same TLS settings as `perRequest`; other agents (proxies, http) pass through. */
  reuse<A>(perRequest: A): A | https.Agent {
    if (!(perRequest instanceof https.Agent) || perRequest.options.keepAlive) return perRequest;
    const o = perRequest.options;
    const key = identity([o.ca, o.cert, o.key, o.pfx, o.passphrase, o.servername, o.rejectUnauthorized]);
    let agent = this.agents.get(key);
    if (!agent) {
      // Rotated credentials get a new agent; the old one's idle sockets close on their own timeout.
      if (this.agents.size >= 8) this.destroy();
      agent = new https.Agent({ ...o, keepAlive: true, maxFreeSockets: MAX_FREE_SOCKETS, scheduling: 'lifo' });
      this.agents.set(key, agent);
    }
    return agent;
  }

  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

/** A digest of the TLS settings (certificates and keys are never kept as map keys). */
function identity(parts: readonly unknown[]): string {
  const h = createHash('sha256');
  for (const part of parts) {
    const values = Array.isArray(part) ? part : [part];
    for (const v of values) h.update(v === undefined ? '\0u' : Buffer.isBuffer(v) ? v : String(v)).update('\0');
    h.update('\x01');
  }
  return h.digest('hex');
}
