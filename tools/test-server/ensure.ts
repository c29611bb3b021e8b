// Makes Temporal's time-skipping test server (the Java SDK's, from Maven Central) ready to start fast:
// resolves its classpath once into a cache outside the repository and, best effort, records an AppCDS
// archive that roughly halves JVM start-up. The SDK gives `existing-path` executables 5 s to accept
// gRPC, so none of this slow work may happen inside TestWorkflowEnvironment.createTimeSkipping.
//
//   const path = await ensureTestServer();
//   const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
//
// or use startTimeSkippingEnvironment() from ./env.ts, which also survives a slow JVM start.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The wrapper script; `<path> <port>` runs the server, `<path> --ensure` resolves the classpath. */
export const TEST_SERVER_WRAPPER = locateWrapper();

function locateWrapper(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'temporal-test-server');
  // Compiled into dist/tools/test-server/, the script (not copied by tsc) stays in the source tree.
  const source = beside.replace(`${sep}dist${sep}tools${sep}`, `${sep}tools${sep}`);
  return existsSync(beside) || !existsSync(source) ? beside : source;
}

export interface EnsureTestServerOptions {
  /** Progress lines; default: stderr with a prefix. */
  log?: (line: string) => void;
  /** Record an AppCDS archive if there is none (default true). */
  classDataSharing?: boolean;
}

let pending: Promise<string> | undefined;

/**
 * Resolves the test server's classpath if it is missing (Maven; tens of seconds the first time, with
 * progress on stderr) and returns the path of the executable wrapper. Idempotent and cheap once done;
 * concurrent calls in one process share the work, and concurrent processes only race on atomic renames.
 */
export function ensureTestServer(options: EnsureTestServerOptions = {}): Promise<string> {
  pending ??= doEnsure(options).catch((err: unknown) => {
    pending = undefined;
    throw err;
  });
  return pending;
}

async function doEnsure(options: EnsureTestServerOptions): Promise<string> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[test-server] ${line}\n`));
  const started = Date.now();
  const cacheDir = (await run(TEST_SERVER_WRAPPER, ['--ensure'], log)).trim();
  if (!cacheDir) throw new Error(`${TEST_SERVER_WRAPPER} --ensure printed no cache directory`);
  if (options.classDataSharing ?? true) {
    const jsa = join(cacheDir, 'app.jsa');
    if (!(await nonEmpty(jsa))) {
      log('recording a class-data-sharing archive to speed up later JVM starts ...');
      try {
        await recordCdsArchive(jsa);
        log(`class-data-sharing archive written to ${jsa}`);
      } catch (err) {
        log(`no class-data-sharing archive (not fatal): ${String(err)}`);
      }
    }
  }
  const took = Date.now() - started;
  if (took > 2000) log(`test server ready after ${(took / 1000).toFixed(1)} s of preparation`);
  return TEST_SERVER_WRAPPER;
}

// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\x1b\[[0-9;]*[A-Za-z]/g;

/** Runs a command, forwarding its stderr as progress lines; resolves with stdout. */
function run(cmd: string, args: string[], log: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errBuf = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      errBuf += d;
      let nl: number;
      while ((nl = errBuf.indexOf('\n')) >= 0) {
        // Maven 3.8 prints colour resets even in batch mode: drop ANSI escapes.
        const line = errBuf.slice(0, nl).replace(ANSI_ESCAPE, '').trimEnd();
        errBuf = errBuf.slice(nl + 1);
        if (line) log(line);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const rest = errBuf.replace(ANSI_ESCAPE, '').trim();
      if (rest) log(rest);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`));
    });
  });
}

/**
 * Starts the server once with -XX:ArchiveClassesAtExit, waits until it accepts connections, stops it
 * with SIGTERM (a clean JVM exit writes the archive) and moves the archive into place atomically.
 */
async function recordCdsArchive(jsa: string): Promise<void> {
  const tmp = `${jsa}.tmp.${process.pid}`;
  const port = await freePort();
  const child = spawn(TEST_SERVER_WRAPPER, [String(port)], {
    stdio: 'ignore',
    env: {
      ...process.env,
      TEMPORAL_TEST_SERVER_JAVA_OPTS: `-XX:ArchiveClassesAtExit=${tmp} -Xlog:cds=off -Xlog:cds+dynamic=off`,
    },
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    await waitForPort(port, 60_000, exited);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  if (!(await nonEmpty(tmp))) throw new Error('the JVM wrote no archive');
  await rename(tmp, jsa).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw err;
  });
}

async function nonEmpty(path: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  return (await stat(path)).size > 0;
}

/** A port that was free a moment ago (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port; rejects on timeout or early exit. */
export async function waitForPort(port: number, timeoutMs: number, exited?: Promise<unknown>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited?.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error(`the server process exited before accepting connections on port ${port}`);
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`nothing accepted connections on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => {
      sock.destroy();
      resolve(false);
    });
  });
}
