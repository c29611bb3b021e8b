// client-go as the judge of a kubeconfig: test/kubetestenv/cmd/kubeconfig-check loads each text with
// clientcmd.Load and builds the rest.Config from it, as sveltoscluster-manager does with our Secret,
// and prints its whole reading. It needs Go only, not the local servers. The binary is built once per
// hash of its sources into the machine-wide build cache (like the stack's servers), and one process
// answers any number of kubeconfigs (JSON lines in and out), so thousands of cases cost seconds.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildInto, goEnv, goVersion, hash } from '../../tools/stack/build.js';
import { cacheRoot, kubetestenvModule } from '../../tools/stack/paths.js';

const COMMAND_DIR = 'cmd/kubeconfig-check';

/** One cluster as clientcmd.Load reads it; `*-data` fields are base64 of the bytes client-go holds. */
export interface ClientGoCluster {
  server?: string;
  'tls-server-name'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'proxy-url'?: string;
  'disable-compression'?: boolean;
  extensions?: string[];
}

export interface ClientGoUser {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  tokenFile?: string;
  as?: string;
  'as-uid'?: string;
  'as-groups'?: string[];
  'as-user-extra'?: Record<string, string[]>;
  username?: string;
  password?: string;
  'auth-provider'?: boolean;
  exec?: boolean;
  extensions?: string[];
}

export interface ClientGoContext {
  cluster: string;
  user: string;
  namespace?: string;
  extensions?: string[];
}

export interface ClientGoConfig {
  currentContext: string;
  clusters: Record<string, ClientGoCluster>;
  users: Record<string, ClientGoUser>;
  contexts: Record<string, ClientGoContext>;
  extensions?: string[];
}

/** The rest.Config a client built from the kubeconfig connects with (view.go restView). */
export interface ClientGoRest {
  host: string;
  apiPath?: string;
  serverName?: string;
  insecure?: boolean;
  caFile?: string;
  caData?: string;
  certFile?: string;
  certData?: string;
  keyFile?: string;
  keyData?: string;
  bearerToken?: string;
  bearerTokenFile?: string;
  username?: string;
  password?: string;
  /** Where the Proxy function sends a request to the server (url.URL.String()). */
  proxy?: string;
  disableCompression?: boolean;
  impersonate?: { userName?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  execProvider?: boolean;
  authProvider?: boolean;
}

export interface ClientGoReport {
  loadError?: string;
  config?: ClientGoConfig;
  restError?: string;
  rest?: ClientGoRest;
}

/** Builds the checker if its sources changed since the last build on this machine; returns its path. */
export async function buildKubeconfigCheck(): Promise<string> {
  const dir = join(kubetestenvModule, COMMAND_DIR);
  const sources = (await readdir(dir)).filter((f) => f.endsWith('.go')).sort();
  const files = [...sources.map((f) => `${COMMAND_DIR}/${f}`), 'go.mod', 'go.sum'];
  const inputs = await Promise.all(files.map(async (f) => Buffer.concat([Buffer.from(f), await readFile(join(kubetestenvModule, f))])));
  const key = hash([...inputs, await goVersion()]);
  return buildInto(join(cacheRoot, 'kubeconfig-check', key), 'kubeconfig-check', async (out) => {
    await new Promise<void>((resolve, reject) => {
      execFile('go', ['build', '-trimpath', '-buildvcs=false', '-o', out, `./${COMMAND_DIR}`], { cwd: kubetestenvModule, env: goEnv() }, (err, _stdout, stderr) =>
        err ? reject(new Error(`building kubeconfig-check failed: ${stderr}`)) : resolve(),
      );
    });
  });
}

/** One long-lived kubeconfig-check process; answers come back in request order. */
export class ClientGoChecker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: Array<{ id: string; resolve: (r: ClientGoReport) => void; reject: (e: Error) => void }> = [];
  private stderr = '';
  private nextId = 0;

  constructor(bin: string) {
    this.child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: this.child.stdout, crlfDelay: Infinity }).on('line', (line) => this.answer(line));
    this.child.on('exit', (code) => this.failAll(new Error(`kubeconfig-check exited (${code}): ${this.stderr}`)));
  }

  /** client-go's reading of one kubeconfig text. */
  read(kubeconfig: string): Promise<ClientGoReport> {
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      this.waiting.push({ id, resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ id, kubeconfig })}\n`);
    });
  }

  readAll(kubeconfigs: readonly string[]): Promise<ClientGoReport[]> {
    return Promise.all(kubeconfigs.map((k) => this.read(k)));
  }

  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    await exited;
  }

  private answer(line: string): void {
    const next = this.waiting.shift();
    if (!next) return;
    const report = JSON.parse(line) as ClientGoReport & { id: string };
    if (report.id !== next.id) next.reject(new Error(`kubeconfig-check answered ${report.id}, expected ${next.id}`));
    else next.resolve(report);
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.splice(0)) w.reject(err);
  }
}

/** Builds (or finds) the checker and starts one process of it. */
export async function startClientGoChecker(): Promise<ClientGoChecker> {
  return new ClientGoChecker(await buildKubeconfigCheck());
}
