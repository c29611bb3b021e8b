// The worker runs a prebuilt workflow bundle (`npm run build`) for a fast start; a source checkout
// without one bundles at start-up instead.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Runtime, bundleWorkflowCode, type Logger, type LogLevel, type LogMetadata, type WorkflowBundleOption } from '@temporalio/worker';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
export const prebuiltBundlePath = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));

/**
 * The bundler reports every webpack module at info level: a screenful that buries the lines a person
 * is waiting for. It goes to the process logger (Runtime.instance().logger, forwarded to ours) at
 * debug; warnings and errors keep their level.
 */
export function quietBundlerLogger(target: Logger = Runtime.instance().logger): Logger {
  const lower = (level: LogLevel): LogLevel => (level === 'WARN' || level === 'ERROR' ? level : 'DEBUG');
  const forward = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    target.log(level, message, meta);
  };
  return {
    log: (level, message, meta) => forward(lower(level), message, meta),
    trace: (message, meta) => forward('TRACE', message, meta),
    debug: (message, meta) => forward('DEBUG', message, meta),
    info: (message, meta) => forward('DEBUG', message, meta),
    warn: (message, meta) => forward('WARN', message, meta),
    error: (message, meta) => forward('ERROR', message, meta),
  };
}

/**
 * Stack frames V8 records for an error created in the workflow sandbox when workflow stack traces are off
 * (docs/adr/0014-workflow-stack-traces-off-by-default.md). The SDK's promise hook creates an error for every
 * promise a workflow creates, to answer the Web UI's stack-trace query; with two frames those errors hold only
 * the hook's own frames, which cost next to nothing, and an error our workflow code throws still names the
 * function that threw it and its caller.
 */
export const LEAN_STACK_TRACE_LIMIT = 2;

/** Where the SDK looks for the bundle's inline source map (the last one). */
const SOURCE_MAP_COMMENT = '//# sourceMappingURL=';

/**
 * The bundle with `Error.stackTraceLimit` set in the sandbox once the bundle has run. The statement goes
 * before the inline source map, which the SDK reads to the end of the code, and after every mapped line, so
 * that the map stays exact.
 */
export function limitWorkflowStackTraces(code: string, limit: number = LEAN_STACK_TRACE_LIMIT): string {
  const statement = `Error.stackTraceLimit = ${limit};\n`;
  const mapAt = code.lastIndexOf(SOURCE_MAP_COMMENT);
  const at = mapAt < 0 ? code.length : mapAt;
  const newline = at === 0 || code[at - 1] === '\n' ? '' : '\n';
  return `${code.slice(0, at)}${newline}${statement}${code.slice(at)}`;
}

/** The workflow bundle the worker runs; `stackTraces: false` (the default) limits them as above. */
export async function loadWorkflowBundle(opts: { stackTraces?: boolean } = {}): Promise<WorkflowBundleOption> {
  const stackTraces = opts.stackTraces ?? false;
  if (existsSync(prebuiltBundlePath)) {
    return stackTraces ? { codePath: prebuiltBundlePath } : { code: limitWorkflowStackTraces(await readFile(prebuiltBundlePath, 'utf8')) };
  }
  const { code } = await bundleWorkflowCode({
    workflowsPath: existsSync(workflowsPath) ? workflowsPath : workflowsPath.replace(/\.ts$/, '.js'),
    logger: quietBundlerLogger(),
  });
  return { code: stackTraces ? code : limitWorkflowStackTraces(code) };
}
