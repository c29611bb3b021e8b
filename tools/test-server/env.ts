// A time-skipping TestWorkflowEnvironment on the Java test server from Maven Central (see ensure.ts).
//
// Two ways to launch it:
//  - 'sdk':  TestWorkflowEnvironment.createTimeSkipping with `existing-path`. The SDK (core) picks a port,
//            runs `<wrapper> <port>` and gives it 5 s to accept gRPC, then gives up.
//  - 'self': we start the wrapper on a free port, wait for it as long as needed (a 2-core machine busy
//            with Go builds can take longer than 5 s), and connect a TestWorkflowEnvironment subclass
//            whose connections enable the TestService, so time skipping works as with 'sdk'.
// 'auto' (the default) tries 'sdk' and falls back to 'self'.
import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { InternalConnectionOptionsSymbol } from '@temporalio/client/lib/connection.js';
import {
  encodeSearchAttributeIndexedValueType,
  type SearchAttributeKey,
  type SearchAttributeType,
} from '@temporalio/common/lib/search-attributes.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { ensureTestServer, freePort, waitForPort } from './ensure.js';

export interface TimeSkippingEnvironmentOptions {
  launch?: 'auto' | 'sdk' | 'self';
  /** Custom search attributes to register (the Java server rejects upserts of unregistered ones). */
  searchAttributes?: ReadonlyArray<SearchAttributeKey<SearchAttributeType>>;
  /** How long 'self' waits for the JVM to accept connections (default 120 s). */
  startTimeoutMs?: number;
  namespace?: string;
}

export interface TimeSkippingEnvironment {
  env: TestWorkflowEnvironment;
  launchedBy: 'sdk' | 'self';
  /** Wall-clock ms from launching the JVM until the environment was connected. */
  startupMs: number;
}

export async function startTimeSkippingEnvironment(
  options: TimeSkippingEnvironmentOptions = {},
): Promise<TimeSkippingEnvironment> {
  const path = await ensureTestServer();
  const launch = options.launch ?? 'auto';
  let result: TimeSkippingEnvironment | undefined;
  if (launch !== 'self') {
    const t0 = Date.now();
    try {
      const env = await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path } },
      });
      result = { env, launchedBy: 'sdk', startupMs: Date.now() - t0 };
    } catch (err) {
      if (launch === 'sdk') throw err;
      process.stderr.write(`[test-server] SDK launch failed (${String(err)}); starting the JVM ourselves\n`);
    }
  }
  if (!result) {
    const t0 = Date.now();
    const env = await SelfLaunchedTimeSkippingEnvironment.launch(path, options.startTimeoutMs ?? 120_000, options.namespace);
    result = { env, launchedBy: 'self', startupMs: Date.now() - t0 };
  }
  if (options.searchAttributes?.length) {
    await registerSearchAttributes(result.env, options.searchAttributes, options.namespace ?? 'default');
  }
  return result;
}

/** Registers custom search attributes through the operator service (the route the Java server implements). */
export async function registerSearchAttributes(
  env: TestWorkflowEnvironment,
  keys: ReadonlyArray<SearchAttributeKey<SearchAttributeType>>,
  namespace = 'default',
): Promise<void> {
  const searchAttributes: Record<string, number> = {};
  for (const key of keys) {
    const encoded = encodeSearchAttributeIndexedValueType(key.type);
    if (encoded === undefined) throw new Error(`unknown search attribute type ${key.type} for ${key.name}`);
    searchAttributes[key.name] = encoded;
  }
  await env.connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
}

/**
 * A TestWorkflowEnvironment on a test server process that we started. The base class constructor is
 * protected and takes `'existing'` as the server handle; we pass `supportsTimeSkipping = true` and build
 * both connections with the TestService enabled, exactly as createTimeSkipping does.
 */
class SelfLaunchedTimeSkippingEnvironment extends TestWorkflowEnvironment {
  private child?: ChildProcess;

  static async launch(wrapper: string, startTimeoutMs: number, namespace?: string): Promise<TestWorkflowEnvironment> {
    const port = await freePort();
    const child = spawn(wrapper, [String(port)], { stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    // No orphaned JVM if the test process ends without teardown().
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    void exited.then(() => process.off('exit', killOnExit));
    try {
      await waitForPort(port, startTimeoutMs, exited);
      const address = `127.0.0.1:${port}`;
      const internal = { [InternalConnectionOptionsSymbol]: { supportsTestService: true } };
      const nativeConnection = await NativeConnection.connect({ address, ...internal });
      const connection = await Connection.connect({ address, ...internal });
      const options = { server: { type: 'existing' }, client: {}, plugins: [] } as unknown as TestWorkflowEnvironment['options'];
      const env = new SelfLaunchedTimeSkippingEnvironment(
        Runtime.instance(),
        options,
        true,
        'existing',
        connection,
        nativeConnection,
        namespace,
        address,
      );
      env.child = child;
      return env;
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
  }

  override async teardown(): Promise<void> {
    await super.teardown();
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await closed;
      clearTimeout(timer);
    }
  }
}
