// @kr/core benchmarks: (a) in-process function task overhead, the service's own time per task
// when 10,000 are queued at once, (d) heap held by finished tasks.
// Run: npm run bench -- core
import { createTaskService } from '@kr/core';
import { percentile, table } from '../lib/stats.mjs';

const now = () => Number(process.hrtime.bigint()) / 1e3; // microseconds

async function overhead() {
  const service = createTaskService();
  const run = () => 1;
  const samples = [];
  for (let i = 0; i < 22_000; i++) {
    const t0 = now();
    const id = await service.create({ run, autoStart: true });
    await service.wait(id);
    const t1 = now();
    service.remove(id);
    if (i >= 2_000) samples.push(t1 - t0); // after warm-up
  }
  await service.dispose();
  return samples;
}

// The service alone, in the shape of @kr/executor-js's throughput benchmark (c): 10,000 code
// tasks created with autoStart as fast as possible and awaited, through an executor that finishes
// every run at once and admits 2 at a time. What it measures is main-thread time the service
// spends per task, which a worker pool's round trip has to wait for.
async function queuedServiceTime() {
  const prepared = {};
  const executor = {
    name: 'noop',
    languages: ['noop'],
    maxConcurrency: 2,
    prepare: () => Promise.resolve({ ok: true, prepared }),
    run: () => Promise.resolve({ status: 'completed', result: 2 }),
    forceStop: () => Promise.resolve(),
    health: () => Promise.resolve({ ok: true }),
    dispose: () => Promise.resolve(),
  };
  const service = createTaskService({ executors: [executor], retention: { maxFinished: 1_000 } });
  const TASKS = 10_000;
  const round = async () => {
    const t0 = now();
    const waits = [];
    for (let i = 0; i < TASKS; i++) {
      const id = await service.create({ language: 'noop', code: '1+1', autoStart: true });
      waits.push(service.wait(id));
    }
    const done = await Promise.all(waits);
    const t1 = now();
    for (const d of done) service.remove(d.id);
    return (t1 - t0) / TASKS;
  };
  for (let i = 0; i < 5; i++) await round();
  const perTask = [];
  for (let i = 0; i < 25; i++) perTask.push(await round());
  await service.dispose();
  return perTask;
}

async function fill(service, run, count) {
  const waits = [];
  for (let i = 0; i < count; i++) {
    const id = await service.create({ run, autoStart: true });
    waits.push(service.wait(id));
  }
  await Promise.all(waits);
}

async function heapOfFinished(count) {
  const service = createTaskService({
    retention: { maxFinished: Number.POSITIVE_INFINITY, maxAgeMs: Number.POSITIVE_INFINITY },
  });
  const run = () => 1;
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
  await settle();
  global.gc();
  const before = process.memoryUsage().heapUsed;
  await fill(service, run, count);
  // Measure from a fresh macrotask, so no stack frame still holds the last results.
  await settle();
  global.gc();
  const after = process.memoryUsage().heapUsed;
  const held = service.list({ state: 'Completed', limit: 0 }).total;
  await service.dispose();
  return { mb: (after - before) / 1024 / 1024, held };
}

const samples = await overhead();
const queued = await queuedServiceTime();
const heap = await heapOfFinished(100_000);
table([
  {
    benchmark: '(a) function task create -> Completed',
    median: `${percentile(samples, 50).toFixed(1)} µs`,
    p99: `${percentile(samples, 99).toFixed(1)} µs`,
    target: 'median <= 20 µs',
  },
  {
    benchmark: '10,000 queued code tasks, no-op executor: service time per task',
    median: `${percentile(queued, 50).toFixed(1)} µs`,
    p99: '',
    target: '',
  },
  {
    benchmark: `(d) heap held by ${heap.held.toLocaleString('en')} finished tasks`,
    median: `${heap.mb.toFixed(1)} MB`,
    p99: '',
    target: '<= 60 MB',
  },
]);
