// The worker runs a prebuilt workflow bundle (`npm run build`) for a fast start; a source checkout
// without one bundles at start-up instead.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
export const prebuiltBundlePath = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));

export async function loadWorkflowBundle(): Promise<WorkflowBundleOption> {
  if (existsSync(prebuiltBundlePath)) return { codePath: prebuiltBundlePath };
  const { code } = await bundleWorkflowCode({ workflowsPath: existsSync(workflowsPath) ? workflowsPath : workflowsPath.replace(/\.ts$/, '.js') });
  return { code };
}
