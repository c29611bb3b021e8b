// Where a process spent its CPU, from a V8 `.cpuprofile` (`node --cpu-prof`): self time by function and
// by module (an npm package, a Node internal area, a folder of this project, or V8's own buckets such as
// garbage collection). Run on its own: `node --import tsx test/bench/throughput/cpu-profile.ts FILE [TOP]`.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Sampled time not spent idle. */
  busyMs: number;
  byModule: SelfTime[];
  byFunction: SelfTime[];
}

/** The module a script URL belongs to: "pkg" or "@scope/pkg" for node_modules, "node:area" for Node internals. */
export function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) {
    const path = url.slice('node:'.length).replace(/^internal\//, '');
    return `node:${path.split('/')[0]}`;
  }
  // Files of this project: the folder under dist/ (or the repository), e.g. "project:activities".
  const m = /\/dist\/([^/]+)\//.exec(url) ?? /\/(workflows|activities|watcher|worker|cli|bin)\//.exec(url);
  if (m) return `project:${m[1]}`;
  if (url.endsWith('workflow-bundle.js')) return 'project:workflow-bundle';
  return url.replace(/^file:\/\//, '');
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

function ranked(m: Map<string, number>, busyMs: number, top: number): SelfTime[] {
  return [...m.entries()]
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, ms, share: ms / busyMs }));
}

export function summarizeProfile(p: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // Self time per node: each sample's time delta goes to the node it landed in (hitCount × mean interval
  // when the profile has no samples).
  const self = new Map<number, number>();
  if (p.samples?.length && p.timeDeltas?.length === p.samples.length) {
    for (let i = 0; i < p.samples.length; i++) {
      const next = p.timeDeltas[i + 1] ?? 0;
      self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + next / 1000);
    }
  } else {
    const hits = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
    const per = (p.endTime - p.startTime) / 1000 / hits;
    for (const n of p.nodes) self.set(n.id, (n.hitCount ?? 0) * per);
  }
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id);
    if (!node) continue;
    totalMs += ms;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const mod = moduleOf(url, functionName);
    modules.set(mod, (modules.get(mod) ?? 0) + ms);
    const fn = url ? `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}` : functionName;
    functions.set(fn, (functions.get(fn) ?? 0) + ms);
  }
  const busyMs = totalMs - idleMs;
  return { totalMs, busyMs, byModule: ranked(modules, busyMs, top), byFunction: ranked(functions, busyMs, top) };
}

export function formatSummary(s: ProfileSummary): string {
  const row = (t: SelfTime): string => `  ${(t.ms / 1000).toFixed(2).padStart(8)} s  ${(t.share * 100).toFixed(1).padStart(5)} %  ${t.name}`;
  return [
    `sampled ${(s.totalMs / 1000).toFixed(1)} s, busy ${(s.busyMs / 1000).toFixed(1)} s`,
    'self time by module:',
    ...s.byModule.map(row),
    'self time by function:',
    ...s.byFunction.map(row),
  ].join('\n');
}

export async function summarizeProfileFile(path: string, top = 25): Promise<ProfileSummary> {
  return summarizeProfile(JSON.parse(await readFile(path, 'utf8')) as CpuProfile, top);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node --import tsx test/bench/throughput/cpu-profile.ts FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatSummary(await summarizeProfileFile(file, Number(top ?? 25)))}\n`);
}
