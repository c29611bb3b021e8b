// `npm run stack -- up | down | status`.
import { down, status, up } from './stack.js';

async function main(): Promise<number> {
  const cmd = process.argv[2];
  switch (cmd) {
    case 'up':
      await up();
      return 0;
    case 'down':
      await down();
      return 0;
    case 'status':
      return (await status()) ? 0 : 1;
    default:
      console.error('usage: npm run stack -- up | down | status');
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
