// The memory settings (docs/adr/0007-memory-tuning.md): applied unless the user gave node the same flag,
// and the `clusterinventory` launcher starts node with the same values as cli/memory.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { MALLOC_ARENA_MAX, NODE_MEMORY_FLAGS, applyNodeMemoryFlags } from '../../cli/memory.js';

const launcher = fileURLToPath(new URL('../../bin/clusterinventory', import.meta.url));
const SEMI = `--max-semi-space-size=${NODE_MEMORY_FLAGS['max-semi-space-size']}`;

describe('node memory flags', () => {
  test('every flag is set when node was given none of them', () => {
    const set: string[] = [];
    const applied = applyNodeMemoryFlags([], '', (f) => set.push(f));
    assert.deepEqual(set, Object.entries(NODE_MEMORY_FLAGS).map(([k, v]) => `--${k}=${v}`));
    assert.deepEqual(applied, set);
  });

  test("a flag the user gave (command line or NODE_OPTIONS, '_' or '-') is left alone", () => {
    const set: string[] = [];
    applyNodeMemoryFlags(['--max_semi_space_size=16'], '--inspect --heap-growing-percent=50', (f) => set.push(f));
    assert.equal(set.length, 0);
    applyNodeMemoryFlags(['--max-semi-space-size', '16'], '', (f) => set.push(f));
    assert.deepEqual(set, [`--heap-growing-percent=${NODE_MEMORY_FLAGS['heap-growing-percent']}`]);
  });
});

describe('bin/clusterinventory', () => {
  // Node runs `-p` instead of the script, so the launcher's environment and node flags can be read back.
  const probe = (env: NodeJS.ProcessEnv): [string | undefined, string[]] => {
    const r = spawnSync(launcher, ['--help'], {
      env: { ...env, CLUSTERINVENTORY_NODE_ARGS: '-p JSON.stringify([process.env.MALLOC_ARENA_MAX,process.execArgv])' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as [string | undefined, string[]];
  };
  const { MALLOC_ARENA_MAX: _a, NODE_OPTIONS: _o, ...clean } = process.env;

  test('starts node with the semi-space flag and MALLOC_ARENA_MAX of cli/memory.ts', () => {
    const [arenas, execArgv] = probe(clean);
    assert.equal(arenas, String(MALLOC_ARENA_MAX));
    assert.ok(execArgv.includes(SEMI), execArgv.join(' '));
  });

  test("keeps the user's MALLOC_ARENA_MAX and semi-space size", () => {
    const [arenas, execArgv] = probe({ ...clean, MALLOC_ARENA_MAX: '8', NODE_OPTIONS: '--max-semi-space-size=16' });
    assert.equal(arenas, '8');
    assert.ok(!execArgv.some((a) => a.includes('semi')), execArgv.join(' '));
  });

  test('the image (no shell, no launcher) sets the same MALLOC_ARENA_MAX and semi-space flag', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    assert.match(dockerfile, new RegExp(`^ENV MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX}$`, 'm'));
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    assert.ok(entrypoint, 'the Dockerfile has an exec-form ENTRYPOINT');
    const argv = JSON.parse(entrypoint) as string[];
    assert.deepEqual(argv.slice(argv.indexOf('/nodejs/bin/node')), ['/nodejs/bin/node', SEMI, '/app/bin/clusterinventory.js']);
  });

  test('is what package.json installs as the command', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { bin: Record<string, string> };
    assert.equal(pkg.bin.clusterinventory, 'bin/clusterinventory');
  });

  test('runs the CLI', () => {
    const r = spawnSync(launcher, ['--help'], { env: clean, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /clusterinventory/);
  });
});
