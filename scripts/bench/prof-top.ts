/**
 * Where a V8 CPU profile (`node --cpu-prof`, or BENCH_CPU_PROF=DIR on a benchmark) spent its
 * time: the top functions by self time, and self time by source file.
 *
 *   node --import tsx scripts/bench/prof-top.ts FILE.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
const top = Number(values.top);
for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++)
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const fn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    const short = url
      .replace(/^file:\/\//, '')
      .replace(/.*\/node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '~/');
    const key = `${functionName || '(anonymous)'}  ${short}:${lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const f = short || `(${functionName})`;
    byFile.set(f, (byFile.get(f) ?? 0) + us);
    total += us;
  }
  const wall = (p.endTime - p.startTime) / 1000;
  const idle = [...fn].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
  console.log(
    `\n${file}: ${(wall / 1000).toFixed(1)} s profiled, ${((total - idle) / 1e6).toFixed(1)} s busy (${(idle / 1e6).toFixed(1)} s idle)\n`,
  );
  const pct = (us: number) => `${((100 * us) / Math.max(1, total - idle)).toFixed(1).padStart(5)}%`;
  console.log('self time by function (share of busy time):');
  for (const [k, us] of [...fn]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top))
    console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  // Inclusive time of our own functions (apps/, packages/), each counted once per stack.
  const incl = new Map<string, number>();
  const keyOf = (n: Node) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const m = /\/(apps|packages)\/(.*)$/.exec(url);
    return m && !url.includes('node_modules')
      ? `${functionName || '(anonymous)'}  ${m[1]}/${m[2]}:${lineNumber + 1}`
      : '';
  };
  const walk = (id: number, onStack: Set<string>): number => {
    const n = byId.get(id)!;
    let t = self.get(id) ?? 0;
    const k = keyOf(n);
    const fresh = k !== '' && !onStack.has(k);
    if (fresh) onStack.add(k);
    for (const c of n.children ?? []) t += walk(c, onStack);
    if (fresh) {
      onStack.delete(k);
      incl.set(k, (incl.get(k) ?? 0) + t);
    }
    return t;
  };
  walk(p.nodes[0]!.id, new Set());
  console.log('\ninclusive time of our functions:');
  for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  console.log('\nself time by file:');
  for (const [k, us] of [...byFile]
    .filter(([k]) => k !== '((idle))')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15))
    console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}
