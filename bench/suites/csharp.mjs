// @kr/executor-csharp benchmarks: host cold start and first compile, warm compile of new small scripts
// (C# and VB), cached run overhead create -> Completed (same code, new arguments), throughput of 1,000
// trivial cached tasks, and host memory while 2,000 distinct scripts are compiled, run and removed.
// Run: cd bench && node run.mjs csharp (after `pnpm build`).
import { readFileSync } from 'node:fs';
import { createTaskService } from '@kr/core';
import { createCSharpExecutor } from '@kr/executor-csharp';
import { percentile, table } from '../lib/stats.mjs';

const COLD_STARTS = 3;
const WARM_COMPILES = 30;
const OVERHEAD_SAMPLES = 2_000;
const WARMUP = 200;
const THROUGHPUT_TASKS = 1_000;
const MEMORY_SCRIPTS = Number(process.env.BENCH_CSHARP_SCRIPTS ?? 2_000);
const MEMORY_EVERY = 200;
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
const median = (xs) => percentile(xs, 50);
const ms = (x) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function runToEnd(service, language, code, args) {
  const id = await service.create({ language, code, args, autoStart: true });
  const done = await service.wait(id);
  if (done.state !== 'Completed') throw new Error(`Unexpected: ${JSON.stringify(done)}`);
  service.remove(id);
  return done;
}

/** Host RSS from /proc (Linux), else the host's own working-set figure. */
function hostRss(pid, health) {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    if (kb) return Number(kb) * 1024;
  } catch {
    // Not Linux.
  }
  return health.metrics.workingSetBytes;
}

/** spawn -> ready (Roslyn warm-up included), then the first compile + run of a new script. */
async function coldStart() {
  const ready = [];
  const firstCs = [];
  const firstVb = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    const t0 = now();
    const executor = createCSharpExecutor();
    const service = createTaskService({ executors: [executor] });
    await executor.ready();
    ready.push(now() - t0);
    let t = now();
    await runToEnd(service, 'csharp', `var first = x * ${i + 2};\nfirst`, { x: 21 });
    firstCs.push(now() - t);
    t = now();
    await runToEnd(service, 'vbnet', `Dim first = x * ${i + 2}\nReturn first`, { x: 21 });
    firstVb.push(now() - t);
    await service.dispose();
    await executor.dispose();
  }
  return { ready, firstCs, firstVb };
}

async function warm() {
  const executor = createCSharpExecutor();
  const service = createTaskService({ executors: [executor], retention: { maxFinished: 2_000 } });
  await executor.ready();

  // Warm compile: create (= compile) of a new small script on a warm host, then run it.
  const compile = { csharp: [], vbnet: [] };
  for (let i = 0; i < WARM_COMPILES + 5; i++) {
    for (const [language, code] of [
      [
        'csharp',
        `var items = new List<int> { ${i}, 2, 3 };\nvar total${i} = items.Where(v => v > 1).Sum() + x;\n$"sum {total${i}}"`,
      ],
      [
        'vbnet',
        `Dim items = New List(Of Integer) From {${i}, 2, 3}\nDim total${i} = items.Where(Function(v) v > 1).Sum() + x\nReturn $"sum {total${i}}"`,
      ],
    ]) {
      const t0 = now();
      const id = await service.create({ language, code, args: { x: 1 } });
      const t1 = now();
      service.start(id);
      await service.wait(id);
      service.remove(id);
      if (i >= 5) compile[language].push(t1 - t0); // the first few still warm the binder paths
    }
  }

  // Cached run overhead: the same code with new argument values (same types), create -> Completed.
  const overhead = { csharp: [], vbnet: [] };
  for (const [language, code] of [
    ['csharp', 'x + 1'],
    ['vbnet', 'Return x + 1'],
  ]) {
    for (let i = 0; i < OVERHEAD_SAMPLES + WARMUP; i++) {
      const t0 = now();
      const done = await runToEnd(service, language, code, { x: i });
      const t1 = now();
      if (done.result !== i + 1) throw new Error(`Unexpected result ${done.result}`);
      if (i >= WARMUP) overhead[language].push(t1 - t0);
    }
  }

  const rounds = [];
  for (let r = 0; r < 3; r++) {
    const t0 = now();
    const waits = [];
    for (let i = 0; i < THROUGHPUT_TASKS; i++) {
      const id = await service.create({ language: 'csharp', code: 'x + 1', args: { x: i }, autoStart: true });
      waits.push(service.wait(id));
    }
    const done = await Promise.all(waits);
    rounds.push(THROUGHPUT_TASKS / ((now() - t0) / 1000));
    if (done.some((d) => d.state !== 'Completed')) throw new Error('A task did not complete');
    for (const d of done) service.remove(d.id);
  }
  const compilations = (await executor.health()).metrics.compilations;
  await service.dispose();
  await executor.dispose();
  return { compile, overhead, throughput: median(rounds), compilations };
}

/** 2,000 distinct scripts (3 in 4 C#, 1 in 4 VB), each compiled, run and removed; host memory every 200. */
async function memory() {
  const executor = createCSharpExecutor();
  const service = createTaskService({ executors: [executor], retention: { maxFinished: 100 } });
  const { pid } = await executor.ready();
  const samples = [];
  const sample = async (scripts) => {
    const health = await executor.health();
    const m = health.metrics;
    samples.push({
      scripts,
      rss: hostRss(pid, health),
      gcHeap: m.gcHeapBytes,
      alcAlive: m.alcAlive,
      alcUnloaded: m.alcUnloaded,
      cacheEntries: m.cacheEntries,
      compilations: m.compilations,
    });
  };
  await sample(0);
  for (let i = 1; i <= MEMORY_SCRIPTS; i++) {
    const [language, code] =
      i % 4 === 0
        ? [
            'vbnet',
            `Dim rows${i} = Enumerable.Range(0, n).Select(Function(k) New With {.k = k, .s = "r${i}"}).ToList()\nReturn rows${i}.Count + ${i}`,
          ]
        : [
            'csharp',
            `record Row${i}(int K, string S);\nvar rows${i} = Enumerable.Range(0, n).Select(k => new Row${i}(k, "r${i}")).ToList();\nrows${i}.Count + ${i}`,
          ];
    await runToEnd(service, language, code, { n: 3 });
    if (i % MEMORY_EVERY === 0) await sample(i);
  }
  await service.dispose();
  await executor.dispose();
  return samples;
}

const cold = await coldStart();
const w = await warm();
const mem = await memory();

table([
  {
    benchmark: 'host cold start: spawn -> ready (Roslyn warm-up included)',
    median: ms(median(cold.ready)),
    p99: `max ${ms(Math.max(...cold.ready))}`,
    target: '',
  },
  {
    benchmark: 'first compile + run of a new C# script on a just-started host',
    median: ms(median(cold.firstCs)),
    p99: `max ${ms(Math.max(...cold.firstCs))}`,
    target: '',
  },
  {
    benchmark: 'first compile + run of a new VB script on a just-started host',
    median: ms(median(cold.firstVb)),
    p99: `max ${ms(Math.max(...cold.firstVb))}`,
    target: '',
  },
  {
    benchmark: `warm compile of a new small C# script (create, ${WARM_COMPILES} scripts)`,
    median: ms(median(w.compile.csharp)),
    p99: ms(percentile(w.compile.csharp, 99)),
    target: '<= 150 ms',
  },
  {
    benchmark: `warm compile of a new small VB script (create, ${WARM_COMPILES} scripts)`,
    median: ms(median(w.compile.vbnet)),
    p99: ms(percentile(w.compile.vbnet, 99)),
    target: '<= 150 ms',
  },
  {
    benchmark: `cached C# run, new args: create -> Completed (${OVERHEAD_SAMPLES.toLocaleString('en')} tasks)`,
    median: ms(median(w.overhead.csharp)),
    p99: ms(percentile(w.overhead.csharp, 99)),
    target: 'median <= 1 ms',
  },
  {
    benchmark: `cached VB run, new args: create -> Completed (${OVERHEAD_SAMPLES.toLocaleString('en')} tasks)`,
    median: ms(median(w.overhead.vbnet)),
    p99: ms(percentile(w.overhead.vbnet, 99)),
    target: 'median <= 1 ms',
  },
  {
    benchmark: `throughput, ${THROUGHPUT_TASKS.toLocaleString('en')} trivial cached C# tasks (median of 3)`,
    median: `${Math.round(w.throughput).toLocaleString('en')} tasks/s`,
    p99: '',
    target: '',
  },
]);
console.log(
  `\nhost compilations during the warm runs: ${w.compilations} (warm-up + ${2 * (WARM_COMPILES + 5)} new scripts + 2 cached ones)\n`,
);
console.log(
  `host memory, ${MEMORY_SCRIPTS.toLocaleString('en')} distinct scripts compiled, run and removed (cache capacity 256):`,
);
table(
  mem.map((s) => ({
    scripts: s.scripts.toLocaleString('en'),
    'host RSS': mib(s.rss),
    'GC heap': mib(s.gcHeap),
    'ALCs alive': s.alcAlive,
    'ALCs unloaded': s.alcUnloaded,
    'cache entries': s.cacheEntries,
    compilations: s.compilations,
  })),
);
const tail = mem.slice(-5);
const growth = (tail.at(-1).rss - tail[0].rss) / 2 ** 20;
console.log(
  `\nRSS growth over the last ${(tail.length - 1) * MEMORY_EVERY} scripts: ${growth.toFixed(1)} MiB`,
);
