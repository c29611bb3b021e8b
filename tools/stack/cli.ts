// `npm run stack -- up [--for-tests] | test-prereqs | down | status`.
import { down, status, testPrereqs, up } from './stack.js';

const USAGE = `usage: npm run stack -- <command>

  up [--for-tests]  build what is missing and start the servers the main job needs (kube-apiserver,
                    Temporal dev server, CRDs, search attributes); --for-tests also installs the test
                    prerequisites, in parallel
  test-prereqs      install what only the tests need: the time-skipping server's jars (Maven), helm
                    (Go build) and chromium (apt); exported in .stack/env
  down              stop the servers \`up\` started
  status            what runs where`;

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  const flags = new Set(rest);
  const unknown = rest.filter((a) => !(cmd === 'up' && a === '--for-tests'));
  if (unknown.length) {
    console.error(`unknown argument ${unknown[0]}\n\n${USAGE}`);
    return 2;
  }
  switch (cmd) {
    case 'up':
      await up({ forTests: flags.has('--for-tests') });
      return 0;
    case 'test-prereqs':
      await testPrereqs();
      return 0;
    case 'down':
      await down();
      return 0;
    case 'status':
      return (await status()) ? 0 : 1;
    default:
      console.error(USAGE);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[stack] error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
