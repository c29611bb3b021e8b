// The fault-matrix harness. The controller runs as it does in production, as its own process
// (`clusterinventory run`, from the sources), so that it can be SIGKILLed, SIGTERMed and restarted;
// the stack's servers are killed, frozen and restarted through the pids `npm run stack -- up`
// recorded in .stack/state.json (never by name). One check states the end state every scenario must reach:
//  - nothing lost: every live ClusterProfile has its Secret and SveltosCluster, owned by its uid;
//  - nothing stuck: every deleted incarnation is released (finalizer gone, its objects gone, its
//    workflow completed);
//  - nothing wrong: no object carries a stale incarnation's owner reference, and the Secret holds the
//    credential of the live incarnation's source.
// Recovery times are measured from the end of the fault to that state, and printed.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1OwnerReference } from '@kubernetes/client-node';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { CLUSTER_PROFILE, FINALIZER, secretNameFor, type ClusterProfile } from '../../activities/kube/types.js';
import { repoRoot } from '../../tools/stack/paths.js';
import { workflowIdFor } from '../../workflows/api.js';
import { E2E, isNotFound, secretReaderProvider, spokeKubeconfig, type E2EOptions } from '../support/e2e.js';
import { parsePrometheus, type Sample } from '../support/prometheus.js';
import { eventually, kubeConfig, stackEnv } from '../support/stack.js';

/** The chart's terminationGracePeriodSeconds: the kubelet's SIGKILL comes this long after SIGTERM. */
export const TERMINATION_GRACE_MS = 40_000;
/** Hang guard for convergence waits on a loaded 2-core machine; never a performance assertion. */
export const CONVERGE_LIMIT_MS = 180_000;
export const EXEC_API = 'client.authentication.k8s.io/v1';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** `clusterinventory run` as a child process, with its log lines kept for assertions and failure reports. */
export class ControllerProcess {
  readonly logs: string[] = [];
  private child: ChildProcess | undefined;
  private exit: Promise<Exit> | undefined;
  private healthPort: number | undefined;

  constructor(
    private readonly flags: string[],
    readonly metricsPort: number,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and waits until /readyz answers 200 (informers synced, worker running). */
  async start(): Promise<void> {
    if (this.running) throw new Error('controller already running');
    this.healthPort = undefined;
    const child = spawn(
      process.execPath,
      // The checkout's sources (bin/clusterinventory.js would prefer a dist/ build, possibly stale).
      // FAULT_CONTROLLER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the controller (node
      // refuses --cpu-prof in NODE_OPTIONS).
      [...nodeArgsFromEnv(), '--import', 'tsx', 'cli/main.ts', 'run', ...this.flags, '--health-addr', '127.0.0.1:0', '--metrics-addr', `127.0.0.1:${this.metricsPort}`],
      { cwd: repoRoot, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    this.exit = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const collect = (stream: NodeJS.ReadableStream) => {
      let rest = '';
      stream.on('data', (b: Buffer) => {
        const lines = (rest + b.toString()).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          if (!line) continue;
          this.logs.push(line);
          const port = /"port":(\d+).*health endpoints/.exec(line);
          if (port) this.healthPort = Number(port[1]);
        }
      });
    };
    collect(child.stdout);
    collect(child.stderr);
    const deadline = Date.now() + CONVERGE_LIMIT_MS;
    for (;;) {
      if (!this.running) throw new Error(`the controller exited during start-up:\n${this.tail()}`);
      // Set by the log reader meanwhile (read through a call: TypeScript would keep it narrowed to undefined).
      const port = this.announcedHealthPort();
      if (port !== undefined) {
        const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
        if (ok) return;
      }
      if (Date.now() > deadline) throw new Error(`the controller was not ready after ${CONVERGE_LIMIT_MS / 1000} s:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private announcedHealthPort(): number | undefined {
    return this.healthPort;
  }

  /** Sends a signal and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    if (!this.running) throw new Error('controller not running');
    this.child!.kill(signal);
    return this.exit!;
  }

  /**
   * What the kubelet does: SIGTERM, then SIGKILL once the termination grace period is over. Returns
   * how the process ended, how long it took, and whether the SIGKILL was needed.
   */
  async terminate(): Promise<{ exit: Exit; ms: number; killed: boolean }> {
    if (!this.running) throw new Error('controller not running');
    const t0 = Date.now();
    this.child!.kill('SIGTERM');
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      this.child?.kill('SIGKILL');
    }, TERMINATION_GRACE_MS);
    const exit = await this.exit!;
    clearTimeout(timer);
    return { exit, ms: Date.now() - t0, killed };
  }

  /** The /leader document: whether this replica holds the leader-election Lease. */
  async leaderStatus(): Promise<{ leader: boolean; identity?: string; holder?: string }> {
    const port = this.announcedHealthPort();
    if (port === undefined) throw new Error('no health port announced yet');
    const res = await fetch(`http://127.0.0.1:${port}/leader`);
    if (!res.ok) throw new Error(`/leader: HTTP ${res.status}`);
    return (await res.json()) as { leader: boolean; identity?: string; holder?: string };
  }

  async metrics(): Promise<Sample[]> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    if (!res.ok) throw new Error(`/metrics: HTTP ${res.status}`);
    return parsePrometheus(await res.text());
  }

  tail(lines = 40): string {
    return this.logs.slice(-lines).join('\n');
  }
}

// ---- the stack's servers ---------------------------------------------------------------------------

interface ServerRecord {
  pid: number;
  binary: string;
}

export type StackServer = 'kube' | 'temporal';

async function serverRecord(which: StackServer): Promise<ServerRecord> {
  const state = JSON.parse(await readFile(join(repoRoot, '.stack', 'state.json'), 'utf8')) as Partial<Record<StackServer, ServerRecord>>;
  const rec = state[which];
  if (!rec) throw new Error(`.stack/state.json has no ${which} server: run \`npm run stack -- up\``);
  return rec;
}

/** The process exists and is not a zombie (a killed child whose new parent has not reaped it yet). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; comm may hold spaces and parentheses, the state follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Signals the server's process group (`stack up` starts each server as a group leader). */
async function signalServer(which: StackServer, signal: NodeJS.Signals): Promise<ServerRecord> {
  const rec = await serverRecord(which);
  if (!alive(rec.pid)) throw new Error(`${which} server (pid ${rec.pid}) is not running`);
  process.kill(-rec.pid, signal);
  return rec;
}

/** SIGKILLs a server and waits until it is gone. */
export async function killServer(which: StackServer): Promise<void> {
  const rec = await signalServer(which, 'SIGKILL');
  await eventually(`${which} server (pid ${rec.pid}) gone`, () => Promise.resolve(alive(rec.pid) ? undefined : true), 30_000);
}

/** Freezes a server (SIGSTOP); the returned function resumes it (SIGCONT). */
export async function freezeServer(which: StackServer): Promise<() => void> {
  const rec = await signalServer(which, 'SIGSTOP');
  return () => process.kill(-rec.pid, 'SIGCONT');
}

/** SIGCONT to both servers (harmless when running): no scenario may leave one frozen. */
export async function resumeServers(): Promise<void> {
  for (const which of ['kube', 'temporal'] as const) {
    const rec = await serverRecord(which).catch(() => undefined);
    if (rec && alive(rec.pid)) process.kill(-rec.pid, 'SIGCONT');
  }
}

/** `npm run stack -- up`: starts what is not running (same ports, same data directories). Returns its duration. */
export async function stackUp(): Promise<number> {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/stack/cli.ts', 'up'], { cwd: repoRoot, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`npm run stack -- up failed (exit ${code}):\n${out}`);
  return Date.now() - t0;
}

// ---- plugins ---------------------------------------------------------------------------------------

/**
 * Exec credential plugins whose behaviour the test steers through files in `dir`:
 *  - fault-slow: while `hold` exists it records its pid and that of a `sleep 120` in `pids`, and waits
 *    for the sleep (a plugin stuck for two minutes); otherwise it answers at once;
 *  - fault-expiring: a token that expires LIFETIME seconds after the call (`lifetime` file, default
 *    30), numbered by call; it exits 1 once (and removes the file) while `fail-next` exists, like an
 *    identity provider that blips. Each call is logged to `expiring-calls` with its expiry.
 */
export class Plugins {
  private constructor(readonly dir: string) {}

  static async create(): Promise<Plugins> {
    const p = new Plugins(await mkdtemp(join(tmpdir(), 'ci-faults-')));
    await p.script(
      'slow.sh',
      [
        `if [ -e '${p.file('hold')}' ]; then`,
        `  echo $$ >> '${p.file('pids')}'`,
        '  sleep 120 &',
        `  echo $! >> '${p.file('pids')}'`,
        '  wait $!',
        'fi',
        `printf '{"apiVersion":"${EXEC_API}","kind":"ExecCredential","status":{"token":"fault-slow-token"}}'`,
      ],
    );
    await p.script(
      'expiring.sh',
      [
        `n=$(cat '${p.file('expiring-count')}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '${p.file('expiring-count')}'`,
        `if [ -e '${p.file('fail-next')}' ]; then rm -f '${p.file('fail-next')}'; echo "call $n failed" >> '${p.file('expiring-calls')}'; echo 'identity provider unavailable' >&2; exit 1; fi`,
        `life=$(cat '${p.file('lifetime')}' 2>/dev/null || echo 30)`,
        'now=$(date +%s)',
        'exp=$(date -u -d "@$((now + life))" +%Y-%m-%dT%H:%M:%SZ)',
        `echo "call $n token fault-expiring-$n expires $((now + life))" >> '${p.file('expiring-calls')}'`,
        `printf '{"apiVersion":"${EXEC_API}","kind":"ExecCredential","status":{"token":"fault-expiring-%s","expirationTimestamp":"%s"}}' "$n" "$exp"`,
      ],
    );
    await p.script('provider.sh', providerScript(p.dir));
    return p;
  }

  file(name: string): string {
    return join(this.dir, name);
  }

  private async script(name: string, lines: string[]): Promise<void> {
    await writeFile(this.file(name), `#!/bin/sh\n${lines.join('\n')}\n`);
    await chmod(this.file(name), 0o755);
  }

  providerFile(): unknown {
    const exec = (command: string) => ({ command, args: [], env: [], apiVersion: EXEC_API, provideClusterInfo: false });
    return {
      providers: [
        { name: 'fault-slow', execConfig: exec(this.file('slow.sh')) },
        { name: 'fault-expiring', execConfig: exec(this.file('expiring.sh')) },
        // The identity provider of the bulkhead scenarios (providerScript), with its own concurrency limit.
        { name: 'fault-idp', maxConcurrentRuns: IDP_MAX_CONCURRENT_RUNS, execConfig: exec(this.file('provider.sh')) },
      ],
    };
  }

  async hold(on: boolean): Promise<void> {
    if (on) await writeFile(this.file('hold'), '');
    else await rm(this.file('hold'), { force: true });
  }

  /** Pids the slow plugin recorded (the shell and its sleep). */
  async pids(): Promise<number[]> {
    try {
      return (await readFile(this.file('pids'), 'utf8')).split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  async alivePids(): Promise<number[]> {
    return (await this.pids()).filter(alive);
  }

  /** Ends plugin processes a SIGKILLed controller left behind (they would only sleep on). */
  async killOrphans(): Promise<void> {
    for (const pid of await this.alivePids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }

  async remove(): Promise<void> {
    await this.hold(false);
    await this.killOrphans();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The fault-idp provider's maxConcurrentRuns in the provider file. */
export const IDP_MAX_CONCURRENT_RUNS = 4;

/**
 * fault-idp: an identity provider steered by files in `dir`. While `idp-hang` exists every call hangs (it
 * polls, so calls in flight complete once the provider recovers, as requests to a recovering service do);
 * while `idp-fail` exists every call exits 1 at once. Each call appends a line to `idp-runs`, and the number
 * of its calls running at that moment (itself included, counted from pid files of live processes) to
 * `idp-concurrency`: the concurrency as the provider itself sees it.
 */
function providerScript(dir: string): string[] {
  const f = (name: string) => join(dir, name);
  return [
    `mkdir -p '${f('idp-running')}'`,
    `touch '${f('idp-running')}/'$$`,
    'n=0',
    `for p in '${f('idp-running')}'/*; do`,
    '  pid=${p##*/}',
    // A zombie (killed, not yet reaped) no longer runs, and a pid the system reused for another process is
    // not a call of ours: it counts only while its command line still names this script.
    `  if [ -e /proc/$pid ] && ! grep -q ') Z ' /proc/$pid/stat 2>/dev/null && tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null | grep -qF '${f('provider.sh')}'; then n=$((n+1)); else rm -f "$p"; fi`,
    'done',
    `echo $n >> '${f('idp-concurrency')}'`,
    `echo $$ >> '${f('idp-runs')}'`,
    `while [ -e '${f('idp-hang')}' ]; do sleep 0.2; done`,
    `if [ -e '${f('idp-fail')}' ]; then rm -f '${f('idp-running')}/'$$; echo 'identity provider unavailable' >&2; exit 1; fi`,
    `rm -f '${f('idp-running')}/'$$`,
    `printf '{"apiVersion":"${EXEC_API}","kind":"ExecCredential","status":{"token":"fault-idp-token"}}'`,
  ];
}

// ---- the fixture -----------------------------------------------------------------------------------

/** One incarnation of a ClusterProfile as the test created it. */
export interface Incarnation {
  name: string;
  uid: string;
  /** The token its source Secret holds (secret reader), or the token prefix its plugin returns. */
  token: string;
}

/** What a fault file expects at the end of each scenario: incarnations converged, and ones released. */
export class Roster {
  live: Incarnation[] = [];
  readonly deleted: Incarnation[] = [];

  /** `gone` was deleted: from now on it must be released instead of converged. */
  drop(gone: Incarnation[]): void {
    this.live = this.live.filter((l) => !gone.includes(l));
    this.deleted.push(...gone);
  }
}

/**
 * A fresh namespace and task queue, the controller as a child process, and the E2E fixture's
 * Kubernetes helpers. Workflows are reached through this process's own Temporal client.
 */
export class FaultFixture extends E2E {
  controller!: ControllerProcess;
  /** Further replicas of `clusterinventory run` (same flags), started by addReplica(). */
  readonly replicas: ControllerProcess[] = [];
  private flags: string[] = [];
  plugins!: Plugins;
  private connection: Connection | undefined;
  private temporal: Client | undefined;

  override async start(opts: E2EOptions = {}): Promise<this> {
    stackEnv();
    await this.core.createNamespace({ body: { metadata: { name: this.namespace } } });
    this.plugins = await Plugins.create();
    const providers = join(this.plugins.dir, 'providers.json');
    await writeFile(providers, JSON.stringify(this.plugins.providerFile()));
    const flags = [
      '--namespaces', this.namespace,
      '--task-queue', this.taskQueue,
      '--clusterprofile-provider-file', providers,
      '--relist-period', '30s',
      '--min-refresh-interval', '1s',
      '--log-level', 'info',
      ...(opts.flags ?? []),
    ];
    this.flags = flags;
    this.controller = new ControllerProcess(flags, await freePort());
    await this.controller.start();
    return this;
  }

  /** Starts one more replica with the same flags (the same task queue, namespace and Lease). */
  async addReplica(): Promise<ControllerProcess> {
    const replica = new ControllerProcess(this.flags, await freePort());
    this.replicas.push(replica);
    await replica.start();
    return replica;
  }

  /** A Temporal client of this process (reconnects by itself after a Temporal restart). */
  async client(): Promise<Client> {
    if (!this.temporal) {
      const env = stackEnv();
      this.connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
      this.temporal = new Client({ connection: this.connection, namespace: env.TEMPORAL_NAMESPACE });
    }
    return this.temporal;
  }

  override workflow(profile: ClusterProfile): WorkflowHandle {
    if (!this.temporal) throw new Error('call client() first');
    return this.temporal.workflow.getHandle(workflowIdFor({ namespace: profile.metadata.namespace!, name: profile.metadata.name!, uid: profile.metadata.uid! }));
  }

  handleOf(inc: Incarnation): WorkflowHandle {
    if (!this.temporal) throw new Error('call client() first');
    return this.temporal.workflow.getHandle(workflowIdFor({ namespace: this.namespace, name: inc.name, uid: inc.uid }));
  }

  /**
   * Stops the controller, ends this task queue's workflows, releases leftover ClusterProfiles and
   * deletes the namespace. Kubernetes clients are made afresh: a scenario may have restarted the API
   * server.
   */
  override async stop(): Promise<void> {
    for (const r of this.replicas) if (r.running) await r.terminate();
    if (this.controller?.running) await this.controller.terminate();
    const client = await this.client().catch(() => undefined);
    if (client) {
      const running: string[] = [];
      for await (const wf of client.workflow.list({ query: `TaskQueue = '${this.taskQueue}' AND ExecutionStatus = 'Running'` })) running.push(wf.workflowId);
      await Promise.all(running.map((id) => client.workflow.getHandle(id).terminate('fault fixture stopped').catch(() => undefined)));
    }
    await this.connection?.close();
    const kc = kubeConfig();
    const { custom, cp, items } = await this.listProfiles();
    for (const p of items) {
      await custom
        .patchNamespacedCustomObject({ ...cp, name: p.metadata.name!, body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
        .catch(() => undefined);
    }
    await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: this.namespace }).catch(() => undefined);
    await this.plugins?.remove();
  }

  /** Names of this fixture's ClusterProfiles that carry our finalizer. */
  async finalized(): Promise<Set<string>> {
    const { items } = await this.listProfiles();
    return new Set(items.filter((p) => p.metadata.finalizers?.includes(FINALIZER)).map((p) => p.metadata.name!));
  }

  /** This fixture's ClusterProfiles, with the client and coordinates to patch them (a fresh client: the API server may have restarted). */
  private async listProfiles() {
    const custom = kubeConfig().makeApiClient(CustomObjectsApi);
    const cp = { group: CLUSTER_PROFILE.group, version: CLUSTER_PROFILE.version, plural: CLUSTER_PROFILE.plural, namespace: this.namespace };
    const { items } = (await custom.listNamespacedCustomObject(cp)) as { items: ClusterProfile[] };
    return { custom, cp, items };
  }

  /** Creates ClusterProfiles read by the secret reader, each with its own source Secret and token. */
  async createSecretReaderProfiles(names: string[], tokenTag = 'a'): Promise<Incarnation[]> {
    const out: Incarnation[] = [];
    // A few at a time: the API server and the controller share two cores with the test.
    for (let i = 0; i < names.length; i += 10) {
      out.push(
        ...(await Promise.all(
          names.slice(i, i + 10).map(async (name) => {
            const token = `fault-token-${name}-${tokenTag}`;
            const src = `${name}-src-${tokenTag}`;
            await this.createSecret(src, { kubeconfig: spokeKubeconfig(token) });
            const p = await this.createProfile(name, [secretReaderProvider(src)]);
            return { name, uid: p.metadata.uid!, token };
          }),
        )),
      );
    }
    return out;
  }

  async createExecProfile(name: string, provider: 'fault-slow' | 'fault-expiring' | 'fault-idp'): Promise<Incarnation> {
    const p = await this.createProfile(name, [{ name: provider, cluster: { server: `https://${name}.example:6443` } }]);
    return { name, uid: p.metadata.uid!, token: provider === 'fault-expiring' ? 'fault-expiring-' : `${provider}-token` };
  }

  /** Deletes the ClusterProfile with the finalizer stripped first, as `kubectl patch … finalizers: null` would. */
  async forceDelete(name: string): Promise<void> {
    await this.patchProfile(name, { metadata: { finalizers: null } });
    await this.deleteProfile(name).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  }

  /** What is wrong with one live incarnation's objects; empty when it has converged. */
  async problemsOfLive(inc: Incarnation): Promise<string[]> {
    const problems: string[] = [];
    const [profile, secret, sc] = await Promise.all([this.getProfile(inc.name), this.getSecret(secretNameFor(inc.name)), this.getSveltosCluster(inc.name)]);
    if (profile?.metadata?.uid !== inc.uid) problems.push(`${inc.name}: the ClusterProfile with uid ${inc.uid} is gone`);
    if (!secret) problems.push(`${inc.name}: no Secret`);
    else {
      problems.push(...ownerProblems(`${inc.name}: Secret`, secret.metadata?.ownerReferences, inc.uid));
      const kubeconfig = this.managedKubeconfig(secret) ?? '';
      if (!kubeconfig.includes(inc.token)) problems.push(`${inc.name}: the Secret does not hold the live incarnation's credential`);
    }
    if (!sc) problems.push(`${inc.name}: no SveltosCluster`);
    else problems.push(...ownerProblems(`${inc.name}: SveltosCluster`, sc.metadata?.ownerReferences, inc.uid));
    return problems;
  }

  /** What is still held for one deleted incarnation; empty when it is released. */
  async problemsOfDeleted(inc: Incarnation): Promise<string[]> {
    const problems: string[] = [];
    const [profile, secret, sc] = await Promise.all([this.getProfile(inc.name), this.getSecret(secretNameFor(inc.name)), this.getSveltosCluster(inc.name)]);
    if (profile?.metadata?.uid === inc.uid && (profile.metadata.finalizers ?? []).includes(FINALIZER)) problems.push(`${inc.name} (${inc.uid}): finalizer still set`);
    for (const [kind, obj] of [['Secret', secret], ['SveltosCluster', sc]] as const) {
      if (obj?.metadata?.ownerReferences?.some((r) => r.uid === inc.uid)) problems.push(`${inc.name} (${inc.uid}): ${kind} still owned by it`);
    }
    try {
      const d = await this.handleOf(inc).describe();
      if (d.status.name !== 'COMPLETED') problems.push(`${inc.name} (${inc.uid}): workflow ${d.status.name}`);
    } catch (e) {
      problems.push(`${inc.name} (${inc.uid}): workflow: ${(e as Error).message}`);
    }
    return problems;
  }

  /**
   * Waits until every live incarnation converged and every deleted one is released; returns the time
   * it took. Throws with the remaining problems (and the controller's log tail) when it does not happen.
   */
  async converge(live: Incarnation[], deleted: Incarnation[] = [], limitMs = CONVERGE_LIMIT_MS): Promise<number> {
    await this.client();
    const t0 = Date.now();
    let last: string[] = [];
    const deadline = t0 + limitMs;
    while (Date.now() < deadline) {
      last = [];
      for (let i = 0; i < live.length; i += 20) last.push(...(await Promise.all(live.slice(i, i + 20).map((l) => this.problemsOfLive(l).catch((e: unknown) => [`${l.name}: ${(e as Error).message}`])))).flat());
      for (let i = 0; i < deleted.length; i += 20) last.push(...(await Promise.all(deleted.slice(i, i + 20).map((d) => this.problemsOfDeleted(d).catch((e: unknown) => [`${d.name}: ${(e as Error).message}`])))).flat());
      if (last.length === 0) return Date.now() - t0;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(
      `not converged after ${limitMs / 1000} s (${last.length} problems):\n  ${last.slice(0, 20).join('\n  ')}\ncontroller log tail:\n${this.controller?.tail() ?? ''}`,
    );
  }
}

/** Our objects carry exactly one ClusterProfile owner reference, to the live incarnation. */
function ownerProblems(what: string, refs: V1OwnerReference[] | undefined, uid: string): string[] {
  const profiles = (refs ?? []).filter((r) => r.kind === 'ClusterProfile');
  if (profiles.length !== 1) return [`${what}: ${profiles.length} ClusterProfile owner references`];
  return profiles[0]!.uid === uid ? [] : [`${what}: owned by uid ${profiles[0]!.uid}, not the live ${uid}`];
}

/** Prints a measured recovery time in the test output (and returns it for the report). */
export function report(scenario: string, what: string, ms: number): number {
  console.log(`# fault-matrix: ${scenario}: ${what}: ${(ms / 1000).toFixed(1)} s`);
  return ms;
}

/** Names `prefix-0` … `prefix-(n-1)`. */
export function names(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}

function nodeArgsFromEnv(): string[] {
  return process.env.FAULT_CONTROLLER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
}
