// `npm run build` step: prebuilds the workflow bundle so workers start without webpack.
import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { prebuiltBundlePath, workflowsPath } from '../worker/bundle.js';
import { bundleAsBuilt } from './workflow-source-map.js';

const sourceWorkflows = workflowsPath.replace('/dist/', '/');
const { code, mappings, bundledBytes } = await bundleAsBuilt(sourceWorkflows, dirname(dirname(sourceWorkflows)));
await writeFile(prebuiltBundlePath, code);
console.log(
  `wrote ${prebuiltBundlePath} (${(code.length / 1024).toFixed(0)} KiB; was ${(bundledBytes / 1024).toFixed(0)} KiB, ` +
    `source map trimmed to ${mappings.after} of ${mappings.before} mappings)`,
);
