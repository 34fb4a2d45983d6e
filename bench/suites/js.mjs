// @kr/executor-js benchmarks: (b) a trivial code task's create -> Completed overhead through the
// engine, (c) throughput of 10,000 trivial code tasks side by side with a bare piscina pool of the
// same size doing the same work. Run: cd bench && node run.mjs js (after `pnpm build`).
//
// This file is also the bare pool's worker: piscina imports it in each thread, where only the
// default export matters and the benchmark below does not run.
import { availableParallelism } from 'node:os';
import { isMainThread } from 'node:worker_threads';

/** The bare pool's task: the same trivial work as the code task `1+1`. */
export default function trivial() {
  return 1 + 1;
}

if (isMainThread) await main();

async function main() {
  const { createTaskService } = await import('@kr/core');
  const { createJsExecutor } = await import('@kr/executor-js');
  const { Piscina } = await import('piscina');
  const { percentile, table } = await import('../lib/stats.mjs');

  const poolSize = availableParallelism();
  const TASKS = 10_000;
  const ROUNDS = 7;
  const now = () => Number(process.hrtime.bigint()) / 1e3; // microseconds
  const code = '1+1';

  const service = createTaskService({
    executors: [createJsExecutor({ poolSize })],
    retention: { maxFinished: 1_000 },
  });

  async function overhead(count, warmup) {
    const samples = [];
    for (let i = 0; i < count + warmup; i++) {
      const t0 = now();
      const id = await service.create({ language: 'javascript', code, autoStart: true });
      const done = await service.wait(id);
      const t1 = now();
      if (done.state !== 'Completed' || done.result !== 2)
        throw new Error(`Unexpected: ${JSON.stringify(done)}`);
      service.remove(id);
      if (i >= warmup) samples.push(t1 - t0);
    }
    return samples;
  }

  async function engineThroughput() {
    const t0 = now();
    const waits = [];
    for (let i = 0; i < TASKS; i++) {
      const id = await service.create({ language: 'javascript', code, autoStart: true });
      waits.push(service.wait(id));
    }
    const done = await Promise.all(waits);
    const t1 = now();
    if (done.some((d) => d.state !== 'Completed')) throw new Error('A task did not complete');
    for (const d of done) service.remove(d.id);
    return TASKS / ((t1 - t0) / 1e6);
  }

  async function bareThroughput(pool) {
    const t0 = now();
    const results = await Promise.all(Array.from({ length: TASKS }, () => pool.run(null)));
    const t1 = now();
    if (results.some((r) => r !== 2)) throw new Error('Bare pool returned a wrong result');
    return TASKS / ((t1 - t0) / 1e6);
  }

  // The engine admits at most poolSize tasks at a time (the service's FIFO holds the rest), so a
  // worker idles while the main thread turns one outcome into the next start. This row shows what
  // that bound alone costs a bare pool.
  async function bareBoundedThroughput(pool) {
    const t0 = now();
    let started = 0;
    const lane = async () => {
      while (started < TASKS) {
        started++;
        if ((await pool.run(null)) !== 2) throw new Error('Bare pool returned a wrong result');
      }
    };
    await Promise.all(Array.from({ length: poolSize }, lane));
    const t1 = now();
    return TASKS / ((t1 - t0) / 1e6);
  }

  // The executor alone, driven as the service drives it (at most poolSize runs at once), to split
  // the engine's cost between the executor and the task service.
  const direct = createJsExecutor({ poolSize });
  // Like the service's contexts: no AbortSignal unless something reads it.
  const noop = () => {};
  const quietCancel = () => noop;
  const prepared = await direct.prepare({ language: 'javascript', code, args: {} });
  if (!prepared.ok) throw new Error('prepare failed');
  async function executorThroughput() {
    const t0 = now();
    let started = 0;
    const lane = async () => {
      while (started < TASKS) {
        const taskId = `t${started++}`;
        const outcome = await direct.run({
          taskId,
          language: 'javascript',
          prepared: prepared.prepared,
          args: {},
          get signal() {
            return new AbortController().signal;
          },
          cancelled: false,
          onCancel: quietCancel,
          progress: noop,
          output: noop,
        });
        if (outcome.status !== 'completed' || outcome.result !== 2)
          throw new Error(`Unexpected: ${JSON.stringify(outcome)}`);
      }
    };
    await Promise.all(Array.from({ length: poolSize }, lane));
    const t1 = now();
    return TASKS / ((t1 - t0) / 1e6);
  }

  const filename = new URL(import.meta.url).href;
  const bare = new Piscina({ filename, minThreads: poolSize, maxThreads: poolSize });
  const bareNoAtomics = new Piscina({
    filename,
    minThreads: poolSize,
    maxThreads: poolSize,
    atomics: 'disabled',
  });

  // Warm every path (threads booted, code compiled and cached) before measuring.
  await overhead(500, 0);
  await bareThroughput(bare);
  await bareThroughput(bareNoAtomics);
  await executorThroughput();

  const samples = await overhead(5_000, 500);
  // Interleave rounds so a noisy moment on a 2-core machine hurts every contender alike.
  const engine = [];
  const pool = [];
  const poolNoAtomics = [];
  const poolBounded = [];
  const executorOnly = [];
  for (let r = 0; r < ROUNDS; r++) {
    pool.push(await bareThroughput(bare));
    poolNoAtomics.push(await bareThroughput(bareNoAtomics));
    poolBounded.push(await bareBoundedThroughput(bare));
    executorOnly.push(await executorThroughput());
    engine.push(await engineThroughput());
  }
  await service.dispose();
  await bare.destroy();
  await bareNoAtomics.destroy();
  await direct.dispose();

  const median = (xs) => percentile(xs, 50);
  const perSecond = (x) => `${Math.round(x).toLocaleString('en')} tasks/s`;
  const enginePs = median(engine);
  const poolPs = median(pool);
  // Each round's engine run against the bare run just before it: steadier than a ratio of medians
  // when the machine's speed drifts during the run.
  const pairedRatio = median(engine.map((e, i) => e / pool[i]));
  table([
    {
      benchmark: `(b) code task '${code}' create -> Completed (pool ${poolSize})`,
      median: `${(percentile(samples, 50) / 1000).toFixed(3)} ms`,
      p99: `${(percentile(samples, 99) / 1000).toFixed(3)} ms`,
      ratio: '',
      target: 'median <= 0.5 ms',
    },
    {
      benchmark: `(c) ${TASKS.toLocaleString('en')} code tasks through the engine`,
      median: perSecond(enginePs),
      p99: '',
      ratio: `${((enginePs / poolPs) * 100).toFixed(0)}% of bare (paired ${(pairedRatio * 100).toFixed(0)}%)`,
      target: '>= 70% of bare pool',
    },
    {
      benchmark: `(c) same tasks, executor.run without the service`,
      median: perSecond(median(executorOnly)),
      p99: '',
      ratio: `${((median(executorOnly) / poolPs) * 100).toFixed(0)}% of bare`,
      target: '',
    },
    {
      benchmark: `(c) same work, bare piscina pool (defaults, ${poolSize} threads)`,
      median: perSecond(poolPs),
      p99: '',
      ratio: '100%',
      target: '',
    },
    {
      benchmark: "(c) same work, bare piscina pool (atomics: 'disabled')",
      median: perSecond(median(poolNoAtomics)),
      p99: '',
      ratio: `${((median(poolNoAtomics) / poolPs) * 100).toFixed(0)}% of bare`,
      target: '',
    },
    {
      benchmark: `(c) same work, bare piscina pool, at most ${poolSize} in flight`,
      median: perSecond(median(poolBounded)),
      p99: '',
      ratio: `${((median(poolBounded) / poolPs) * 100).toFixed(0)}% of bare`,
      target: '',
    },
  ]);
}
