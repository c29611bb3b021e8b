// `npm run build` step: prebuilds the workflow bundle so workers start without webpack.
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { prebuiltBundlePath, workflowsPath } from '../worker/bundle.js';

const { code } = await bundleWorkflowCode({ workflowsPath: workflowsPath.replace('/dist/', '/') });
await writeFile(prebuiltBundlePath, code);
console.log(`wrote ${prebuiltBundlePath} (${(code.length / 1024).toFixed(0)} KiB)`);
