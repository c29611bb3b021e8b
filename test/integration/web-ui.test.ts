// The Temporal Web UI (the stack's dev server, UI 2.42.1) in headless Chromium, on a ClusterProfile
// workflow created through the E2E fixture (real watcher + worker), reached by the link `clusterinventory
// status NAMESPACE/NAME` prints: the history shows the activity names with their sentence-like summaries
// and the timer summary; the User Metadata tab names the ClusterProfile (staticSummary / staticDetails
// from the watcher's signal-with-start) and shows the current details (phase and expiry, served by the
// workflow's metadata query). Screenshots go to test-results/web-ui.png and web-ui-metadata.png
// (git-ignored).
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ClusterProfile } from '../../activities/kube/types.js';
import { repoRoot } from '../../tools/stack/paths.js';
import { workflowUiUrl } from '../../cli/connect.js';
import { refreshUpdate } from '../../workflows/api.js';
import { E2E, secretReaderProvider, spokeKubeconfig } from '../support/e2e.js';
import { eventually, stackEnv, uniqueName } from '../support/stack.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const LIMIT_MS = 120_000;
export const SCREENSHOT = join(repoRoot, 'test-results', 'web-ui.png');
export const SCREENSHOT_METADATA = join(repoRoot, 'test-results', 'web-ui-metadata.png');
export const SCREENSHOT_DEGRADED = join(repoRoot, 'test-results', 'web-ui-degraded.png');

/** The text of every markdown frame on the page (the UI renders summary, details and current details in frames). */
async function renderedTexts(page: Page): Promise<string[]> {
  return Promise.all(page.frames().filter((f) => f !== page.mainFrame()).map((f) => f.locator('body').innerText().catch(() => '')));
}

describe('Temporal Web UI', { timeout: 10 * 60_000 }, () => {
  const e2e = new E2E();
  const name = uniqueName('ui-spoke');
  let profile: ClusterProfile;
  let browser: Browser | undefined;
  let page: Page;
  let url: string;
  let runId: string;

  before(async () => {
    await e2e.start();
    await e2e.createSecret(`${name}-src`, { kubeconfig: spokeKubeconfig('ui-token-not-a-secret') });
    profile = await e2e.createProfile(name, [secretReaderProvider(`${name}-src`)]);
    await e2e.waitForPhase(profile, 'Ready', LIMIT_MS);
    // A refresh update, so that the history also shows one.
    await e2e.workflow(profile).executeUpdate(refreshUpdate, { args: [{ reason: 'web UI test' }] });
    runId = (await e2e.workflow(profile).describe()).runId;
    // As `status` prints it: the workflow's page, without a run ID; the UI redirects to the latest run.
    url = workflowUiUrl(stackEnv().TEMPORAL_UI_URL, e2e.app.temporal.namespace, e2e.workflow(profile).workflowId);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1600, height: 1500 } });
  });

  after(async () => {
    await browser?.close();
    await e2e.stop();
  });

  test('the history names each step in words: the sync (a local activity) and the timer with their summaries', async () => {
    const profileName = `${e2e.namespace}/${name}`;
    await page.goto(url, { waitUntil: 'load', timeout: LIMIT_MS });
    // The link lands on the history of the latest run.
    await page.waitForURL(new RegExp(`/workflows/${encodeURIComponent(e2e.workflow(profile).workflowId)}/${runId}/history$`), { timeout: LIMIT_MS });
    for (const text of [
      `sync ${profileName} (initial sync)`,
      `wait for the sync period for ${profileName}`,
    ]) {
      await page.getByText(text, { exact: false }).first().waitFor({ timeout: LIMIT_MS });
    }
    await page.getByText('profileChanged', { exact: true }).filter({ visible: true }).first().waitFor({ timeout: LIMIT_MS });
    await mkdir(join(repoRoot, 'test-results'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  test('user metadata: the summary and details name the ClusterProfile; current details show phase and expiry', async () => {
    const profileName = `${e2e.namespace}/${name}`;
    await page.getByText('User Metadata', { exact: true }).first().click();
    await page.getByText('Current Details', { exact: true }).first().waitFor({ timeout: LIMIT_MS });
    // The UI renders each markdown text (summary, details, current details) in its own frame.
    const rendered = await eventually(
      'summary, details and current details rendered',
      async () => {
        const texts = await renderedTexts(page);
        const summary = texts.find((t) => t.trim() === `ClusterProfile ${profileName}`);
        const details = texts.find((t) => t.includes(`uid: ${profile.metadata.uid}`));
        const current = texts.find((t) => t.includes('credential expires:'));
        return summary && details && current ? { summary, details, current } : undefined;
      },
      LIMIT_MS,
    );
    assert.match(rendered.details, new RegExp(`namespace: ${e2e.namespace}\\s+name: ${name}`));
    assert.match(rendered.current, /^Ready · provider kubeconfig-secretreader/);
    assert.match(rendered.current, /credential expires: no expiry stated/);
    assert.match(rendered.current, /next refresh: \d{4}-\d\d-\d\dT\S+Z · last sync: \d{4}-\d\d-\d\dT\S+Z/);
    // The sync (a local activity) and the timer, listed by their summaries.
    for (const text of [`sync ${profileName} (initial sync)`, `wait for the sync period for ${profileName}`]) {
      await page.getByText(text, { exact: false }).first().waitFor({ timeout: LIMIT_MS });
    }
    await page.screenshot({ path: SCREENSHOT_METADATA, fullPage: true });
  });

  test('a Degraded profile: current details lead with the error', async () => {
    const bad = await e2e.createProfile(uniqueName('ui-bad'), [{ name: 'no-such-provider', cluster: { server: 'https://bad.example:6443' } }]);
    await e2e.waitForPhase(bad, 'Degraded', LIMIT_MS);
    const { runId } = await e2e.workflow(bad).describe();
    await page.goto(`${workflowUiUrl(stackEnv().TEMPORAL_UI_URL, e2e.app.temporal.namespace, e2e.workflow(bad).workflowId, runId)}/user-metadata`, {
      waitUntil: 'load',
      timeout: LIMIT_MS,
    });
    const current = await eventually(
      'current details of the Degraded profile',
      async () => (await renderedTexts(page)).find((t) => t.startsWith('Degraded')),
      LIMIT_MS,
    );
    assert.match(current, /^Degraded\s+last error: InvalidInput: status.accessProviders: no supported access provider/);
    assert.match(current, /next retry: \S+Z · credential expires: —/);
    await page.screenshot({ path: SCREENSHOT_DEGRADED, fullPage: true });
  });
});
