// The worker runs a prebuilt workflow bundle (`npm run build`) for a fast start; a source checkout
// without one bundles at start-up instead.
import { existsSync } from 'node:fs';
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

export async function loadWorkflowBundle(): Promise<WorkflowBundleOption> {
  if (existsSync(prebuiltBundlePath)) return { codePath: prebuiltBundlePath };
  const { code } = await bundleWorkflowCode({
    workflowsPath: existsSync(workflowsPath) ? workflowsPath : workflowsPath.replace(/\.ts$/, '.js'),
    logger: quietBundlerLogger(),
  });
  return { code };
}
