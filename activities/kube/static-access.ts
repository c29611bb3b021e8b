// Kubernetes access from static credentials (a bearer token, a client certificate, basic auth), as read
// from a kubeconfig or from a pod's ServiceAccount (kube-access.ts). Applied to node:https options the way
// client-node's KubeConfig.applyToHTTPSOptions does, so that http.ts and the watcher's transport use
// either alike, without loading client-node.
import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import https from 'node:https';
import { bearerToken } from '../credentials/kubeconfig-fields.js';
import { InvalidInputError } from '../errors.js';

/**
 * How long a file's content serves before it is read again: a projected ServiceAccount token rotates on
 * disk (the kubelet renews it at 80% of its life, an hour by default), and client-go re-reads it after a
 * minute; certificates that cert-manager renews in place are picked up the same way.
 */
export const FILE_MAX_AGE_MS = 60_000;

/** A token, certificate or key: inline in the kubeconfig, or a file read (and re-read) when used. */
export type Material = { field: string } & ({ data: Buffer } | { file: string });

export interface StaticAccessSpec {
  /** Where the settings come from, at the start of every error: "kubeconfig /home/me/.kube/config". */
  origin: string;
  contextName: string;
  namespace?: string;
  /** Without a trailing slash. */
  server: string;
  skipTLSVerify: boolean;
  tlsServerName?: string;
  ca?: Material;
  cert?: Material;
  key?: Material;
  token?: Material;
  basic?: { username: string; password: string };
}

export interface StaticAccessOptions {
  /** Ages the files; tests inject one. */
  now?: () => number;
  readFile?: (path: string) => Promise<Buffer>;
}

/** The error code of a failed read ("ENOENT"), never its message: that repeats the path at best. */
function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown error';
}

/**
 * One file's content, re-read when older than FILE_MAX_AGE_MS. A read that fails (or a content that does
 * not parse) after a good one keeps the good one until the next try, as client-go does: a rotation is
 * written atomically, so a failure there is the file system's, and the old token is still valid.
 */
export class RotatingFile<T> {
  private value: { content: T } | undefined;
  private readAtMs = 0;
  private pending: Promise<T> | undefined;

  constructor(
    private readonly path: string,
    private readonly what: string,
    private readonly parse: (content: Buffer) => T,
    private readonly now: () => number,
    private readonly read: (path: string) => Promise<Buffer>,
  ) {}

  get(): Promise<T> {
    if (this.value && this.now() - this.readAtMs < FILE_MAX_AGE_MS) return Promise.resolve(this.value.content);
    // Concurrent requests at expiry share one read.
    return (this.pending ??= this.reread().finally(() => (this.pending = undefined)));
  }

  private async reread(): Promise<T> {
    let content: T;
    try {
      const bytes = await this.read(this.path).catch((err: unknown) => {
        throw new Error(`cannot read ${this.path} (${codeOf(err)})`);
      });
      try {
        content = this.parse(bytes);
      } catch (err) {
        throw new Error(`${this.path} ${(err as Error).message}`);
      }
    } catch (err) {
      if (!this.value) throw new Error(`${this.what}: ${(err as Error).message}`);
      this.readAtMs = this.now();
      return this.value.content;
    }
    this.value = { content };
    this.readAtMs = this.now();
    return content;
  }
}

// The parsers below throw a reason that follows the file's path or the field's name.

/** A token file holds the token and perhaps a final line break (client-go trims it too). */
function tokenOf(content: Buffer): string {
  const token = content.toString('utf8').trim();
  if (!token) throw new Error('is empty');
  try {
    bearerToken(token, 'token', 'token');
  } catch (err) {
    // The reason names the character and its position, never the token.
    throw new Error(`holds a token that ${(err as InvalidInputError).reason}`);
  }
  return token;
}

function nonEmpty(content: Buffer): Buffer {
  if (content.length === 0) throw new Error('is empty');
  return content;
}

/** A KubeAccess (kube-access.ts, which imports this file: the shape is checked where it is returned). */
export class StaticKubeAccess {
  private readonly ca: () => Promise<Buffer | undefined>;
  private readonly cert: () => Promise<Buffer | undefined>;
  private readonly key: () => Promise<Buffer | undefined>;
  private readonly token: () => Promise<string | undefined>;

  constructor(
    readonly spec: StaticAccessSpec,
    opts: StaticAccessOptions = {},
  ) {
    const now = opts.now ?? (() => performance.now());
    const read = opts.readFile ?? ((p: string) => readFile(p));
    const source = <T>(m: Material | undefined, parse: (content: Buffer) => T): (() => Promise<T | undefined>) => {
      if (!m) return () => Promise.resolve(undefined);
      if ('data' in m) {
        let value: T;
        try {
          value = parse(m.data);
        } catch (err) {
          throw new InvalidInputError(spec.origin, m.field, (err as Error).message);
        }
        return () => Promise.resolve(value);
      }
      const file = new RotatingFile(m.file, `${spec.origin}: ${m.field}`, parse, now, read);
      return () => file.get();
    };
    this.ca = source(spec.ca, nonEmpty);
    this.cert = source(spec.cert, nonEmpty);
    this.key = source(spec.key, nonEmpty);
    this.token = source(spec.token, tokenOf);
  }

  getCurrentCluster(): { server: string } {
    return { server: this.spec.server };
  }

  getCurrentContext(): string {
    return this.spec.contextName;
  }

  getContextObject(name: string): { name: string; namespace?: string } | null {
    if (name !== this.spec.contextName) return null;
    return { name, ...(this.spec.namespace ? { namespace: this.spec.namespace } : {}) };
  }

  /** As client-node: TLS settings and an agent of their own on the options, the credentials in headers. */
  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    const [ca, cert, key, token] = await Promise.all([this.ca(), this.cert(), this.key(), this.token()]);
    const { skipTLSVerify, tlsServerName, basic } = this.spec;
    const tls: https.AgentOptions = {
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(tlsServerName ? { servername: tlsServerName } : {}),
      ...(skipTLSVerify ? { rejectUnauthorized: false } : {}),
    };
    Object.assign(opts, tls);
    if (basic) opts.auth = `${basic.username}:${basic.password}`;
    if (token) {
      if (Array.isArray(opts.headers)) throw new Error('applyToHTTPSOptions: headers given as a raw list');
      opts.headers = { ...(opts.headers as http.OutgoingHttpHeaders | undefined), Authorization: `Bearer ${token}` };
    }
    // http.ts keys its shared keep-alive agents on this agent's TLS settings (agent-pool.ts).
    if (!this.spec.server.startsWith('http:')) opts.agent = new https.Agent(tls);
  }
}
