// The Web UI test drives Debian's Chromium through playwright-core, which never downloads a browser.
// On a fresh machine (where we are root, as on CI) the package is installed; elsewhere the error says how.
import { existsSync } from 'node:fs';
import { log, run } from './run.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function ensureChromium(): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium package (apt-get install chromium), or set CHROMIUM_PATH`);
  }
  log("installing Debian's chromium for the Web UI test (apt-get)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env, heartbeat: 'still updating the package lists' });
  await run('apt-get', ['install', '-y', '-qq', 'chromium'], { env, heartbeat: 'still installing chromium' });
  return CHROMIUM_PATH;
}
