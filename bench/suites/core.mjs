// @kr/core benchmarks: (a) in-process function task overhead, (d) heap held by finished tasks.
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
const heap = await heapOfFinished(100_000);
table([
  {
    benchmark: '(a) function task create -> Completed',
    median: `${percentile(samples, 50).toFixed(1)} µs`,
    p99: `${percentile(samples, 99).toFixed(1)} µs`,
    target: 'median <= 20 µs',
  },
  {
    benchmark: `(d) heap held by ${heap.held.toLocaleString('en')} finished tasks`,
    median: `${heap.mb.toFixed(1)} MB`,
    p99: '',
    target: '<= 60 MB',
  },
]);
