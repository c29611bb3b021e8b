// Renders the chart with helm, and writes the plain manifests for kubectl users:
//   npx tsx tools/helm/render.ts   → deploy/manifests/clusterinventory-temporal.yaml
// test/integration/deploy.test.ts renders again and compares, so the committed file cannot go stale.
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { repoRoot } from '../stack/paths.js';
import { run } from '../stack/run.js';
import { ensureHelm } from './ensure.js';

export const CHART_DIR = join(repoRoot, 'deploy', 'helm', 'clusterinventory-temporal');
export const MANIFEST_FILE = join(repoRoot, 'deploy', 'manifests', 'clusterinventory-temporal.yaml');
/** Release name and namespace of the committed manifests (fullname = release name = chart name). */
export const RELEASE = 'clusterinventory-temporal';
export const NAMESPACE = 'projectsveltos';

let helmHome: string | undefined;

/** helm without the user's repositories, plugins or registry logins: only the chart on disk matters. */
export function helmEnv(): NodeJS.ProcessEnv {
  helmHome ??= mkdtempSync(join(tmpdir(), 'cit-helm-'));
  return {
    PATH: process.env.PATH,
    HOME: helmHome,
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
  };
}

export function runHelm(helm: string, args: string[]): Promise<string> {
  return run(helm, args, { env: helmEnv(), cwd: repoRoot });
}

export interface TemplateOptions {
  release?: string;
  namespace?: string;
  /** Values files' contents, applied in order (as with repeated -f). */
  values?: object[];
  extraArgs?: string[];
}

/** `helm template` of the chart; values go through files, like a user's -f. */
export async function helmTemplate(helm: string, opts: TemplateOptions = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'cit-values-'));
  const files: string[] = [];
  for (const [i, v] of (opts.values ?? []).entries()) {
    const f = join(dir, `values-${i}.json`);
    await writeFile(f, JSON.stringify(v));
    files.push('-f', f);
  }
  try {
    return await runHelm(helm, [
      'template',
      opts.release ?? RELEASE,
      CHART_DIR,
      '--namespace',
      opts.namespace ?? NAMESPACE,
      ...files,
      ...(opts.extraArgs ?? []),
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The content of deploy/manifests/clusterinventory-temporal.yaml: a header, then `helm template` with defaults. */
export async function renderDefaultManifests(helm: string): Promise<string> {
  const chart = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string };
  const chartPath = relative(repoRoot, CHART_DIR);
  const header = [
    `# clusterinventory-temporal ${chart.appVersion}: plain manifests for kubectl, rendered from the Helm chart`,
    `# ${chartPath} (chart ${chart.version}) with its default values:`,
    `#   helm template ${RELEASE} ${chartPath} --namespace ${NAMESPACE}`,
    '# Do not edit: change the chart and run `npx tsx tools/helm/render.ts` (a test checks this file is current).',
    '# Before `kubectl apply -f`: create the namespace, register the Temporal search attributes, and set',
    '# TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE and the image below (deploy/README.md).',
    '',
  ].join('\n');
  return header + (await helmTemplate(helm));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const helm = await ensureHelm();
  await writeFile(MANIFEST_FILE, await renderDefaultManifests(helm));
  console.log(`wrote ${relative(repoRoot, MANIFEST_FILE)}`);
}
