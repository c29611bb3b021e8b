// /healthz (the process is alive) and /readyz (every readiness check passes).
import { createServer, type Server } from 'node:http';

export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface HealthServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(addr: { host: string; port: number }, checks: Record<string, ReadinessCheck>): Promise<HealthServer> {
  const server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      if (req.url === '/readyz') {
        const failing: string[] = [];
        for (const [name, check] of Object.entries(checks)) {
          try {
            if (!(await check())) failing.push(name);
          } catch {
            failing.push(name);
          }
        }
        res.writeHead(failing.length ? 503 : 200, { 'content-type': 'text/plain' }).end(failing.length ? `not ready: ${failing.join(', ')}\n` : 'ok\n');
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
  return { server, port, close: () => new Promise((r) => server.close(() => r())) };
}
