// /healthz (the process is alive), /readyz (every readiness check passes) and informational JSON
// documents such as /leader (who leads; a standby is alive and ready too). Checks run in parallel,
// each bounded by a timeout: a server that stopped answering makes its check fail within that time
// (a hung gRPC call must not hang the probe beyond the kubelet's timeout).
import { createServer, type Server } from 'node:http';

export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface HealthServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export interface HealthOptions {
  /** Per check (default 3 s). */
  checkTimeoutMs?: number;
  /** Path → JSON document, always 200 (e.g. /leader). */
  documents?: Record<string, () => unknown>;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 3_000;

/** Runs every check; returns the names of those that failed, threw or timed out. */
export async function failingChecks(checks: Record<string, ReadinessCheck>, timeoutMs = DEFAULT_CHECK_TIMEOUT_MS): Promise<string[]> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      try {
        const ok = await Promise.race([Promise.resolve().then(check), timeout]);
        return ok ? undefined : name;
      } catch {
        return name;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return results.filter((n): n is string => n !== undefined);
}

export async function startHealthServer(
  addr: { host: string; port: number },
  checks: Record<string, ReadinessCheck>,
  opts: HealthOptions = {},
): Promise<HealthServer> {
  const timeoutMs = opts.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '').split('?')[0];
      if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      if (path === '/readyz') {
        const failing = await failingChecks(checks, timeoutMs);
        res.writeHead(failing.length ? 503 : 200, { 'content-type': 'text/plain' }).end(failing.length ? `not ready: ${failing.join(', ')}\n` : 'ok\n');
        return;
      }
      const document = path === undefined ? undefined : opts.documents?.[path];
      if (document) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(document())}\n`);
        return;
      }
      res.writeHead(404).end();
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : addr.port;
  return {
    server,
    port,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
