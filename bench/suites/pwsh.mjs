// @kr/executor-pwsh benchmarks: a trivial PowerShell task's create -> Completed overhead with a warm
// pool (median, p99), throughput of 1,000 trivial tasks, host cold start (spawn -> first task can run)
// and host memory with 8 idle runspaces — side by side with PowerShell's own background jobs doing the
// same work, timed inside one pwsh session per job (Start-ThreadJob, Start-Job).
// Run: cd bench && node run.mjs pwsh (after `pnpm build`). Installs pwsh 7.6.10 as a dotnet tool into
// <repo>/.tools/pwsh for the comparison when it is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTaskService } from '@kr/core';
import { createPwshExecutor } from '@kr/executor-pwsh';
import { percentile, table } from '../lib/stats.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const POOL = 8;
const OVERHEAD_SAMPLES = 2_000;
const WARMUP = 200;
const THROUGHPUT_TASKS = 1_000;
const COLD_STARTS = 3;
const THREADJOB_SAMPLES = 100;
const STARTJOB_SAMPLES = 10;
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
const median = (xs) => percentile(xs, 50);
const ms = (x) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;

/** spawn -> ready, and spawn -> first trivial task Completed, on a fresh host each time. */
async function coldStart() {
  const ready = [];
  const first = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    const t0 = now();
    const executor = createPwshExecutor({ poolSize: POOL });
    const service = createTaskService({ executors: [executor] });
    await executor.ready();
    ready.push(now() - t0);
    const id = await service.create({ language: 'powershell', code: "'ok'", autoStart: true });
    const done = await service.wait(id);
    if (done.state !== 'Completed') throw new Error(`cold task: ${JSON.stringify(done)}`);
    first.push(now() - t0);
    await service.dispose();
    await executor.dispose();
  }
  return { ready, first };
}

async function warm() {
  const executor = createPwshExecutor({ poolSize: POOL });
  const service = createTaskService({ executors: [executor], retention: { maxFinished: 2_000 } });
  await executor.ready();
  // Memory with 8 idle runspaces: wait for the background warm-up to open all of them.
  let health;
  for (let i = 0; i < 200; i++) {
    health = await executor.health();
    if (health.metrics?.runspaces === POOL && health.metrics?.idle === POOL) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500));
  globalThis.gc?.();
  health = await executor.health();
  const memory = { workingSet: health.metrics.workingSetBytes, gcHeap: health.metrics.gcHeapBytes };

  const overhead = [];
  for (let i = 0; i < OVERHEAD_SAMPLES + WARMUP; i++) {
    const t0 = now();
    const id = await service.create({ language: 'powershell', code: "'ok'", autoStart: true });
    const done = await service.wait(id);
    const t1 = now();
    if (done.state !== 'Completed' || done.result !== 'ok')
      throw new Error(`Unexpected: ${JSON.stringify(done)}`);
    service.remove(id);
    if (i >= WARMUP) overhead.push(t1 - t0);
  }

  const rounds = [];
  for (let r = 0; r < 3; r++) {
    const t0 = now();
    const waits = [];
    for (let i = 0; i < THROUGHPUT_TASKS; i++) {
      const id = await service.create({ language: 'powershell', code: "'ok'", autoStart: true });
      waits.push(service.wait(id));
    }
    const done = await Promise.all(waits);
    rounds.push(THROUGHPUT_TASKS / ((now() - t0) / 1000));
    if (done.some((d) => d.state !== 'Completed')) throw new Error('A task did not complete');
    for (const d of done) service.remove(d.id);
  }
  await service.dispose();
  await executor.dispose();
  return { overhead, throughput: median(rounds), memory };
}

/** The pwsh 7.6.10 global tool, installed project-locally when missing (7.7 does not install here). */
function findPwsh() {
  const toolPath = join(repo, '.tools', 'pwsh');
  const exe = join(toolPath, process.platform === 'win32' ? 'pwsh.exe' : 'pwsh');
  if (existsSync(exe)) return exe;
  console.log(`Installing PowerShell 7.6.10 as a dotnet tool into ${toolPath} ...`);
  const r = spawnSync(
    'dotnet',
    ['tool', 'install', 'PowerShell', '--version', '7.6.10', '--tool-path', toolPath],
    { stdio: 'inherit' },
  );
  return r.status === 0 && existsSync(exe) ? exe : undefined;
}

/** Per-job times of PowerShell's own jobs, measured inside one pwsh session (so pwsh's start is excluded). */
function jobs(pwsh) {
  const script = `
    $ErrorActionPreference = 'Stop'
    function Measure-Jobs([int]$n, [scriptblock]$make) {
      $null = & $make  # warm-up
      $times = foreach ($i in 1..$n) { $sw = [Diagnostics.Stopwatch]::StartNew(); $null = & $make; $sw.Elapsed.TotalMilliseconds }
      ,@($times)
    }
    $thread = Measure-Jobs ${THREADJOB_SAMPLES} { Start-ThreadJob { 'ok' } | Receive-Job -Wait -AutoRemoveJob }
    $process = Measure-Jobs ${STARTJOB_SAMPLES} { Start-Job { 'ok' } | Receive-Job -Wait -AutoRemoveJob }
    @{ thread = $thread; process = $process } | ConvertTo-Json -Compress`;
  const out = execFileSync(pwsh, ['-NoProfile', '-NonInteractive', '-Command', script], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  return JSON.parse(out.trim().split('\n').at(-1));
}

const cold = await coldStart();
const w = await warm();
const pwsh = findPwsh();
let pj;
try {
  pj = pwsh ? jobs(pwsh) : undefined;
} catch (error) {
  console.log(`PowerShell jobs comparison failed: ${error.message}`);
}

const ours = median(w.overhead);
const rows = [
  {
    benchmark: `trivial task 'ok' create -> Completed, warm pool of ${POOL}`,
    median: ms(ours),
    p99: ms(percentile(w.overhead, 99)),
    ratio: '',
    target: 'median <= 3 ms',
  },
  {
    benchmark: `throughput, ${THROUGHPUT_TASKS.toLocaleString('en')} trivial tasks (median of 3)`,
    median: `${Math.round(w.throughput).toLocaleString('en')} tasks/s`,
    p99: '',
    ratio: '',
    target: '',
  },
  {
    benchmark: 'host cold start: spawn -> ready (first task can run)',
    median: ms(median(cold.ready)),
    p99: `max ${ms(Math.max(...cold.ready))}`,
    ratio: '',
    target: '<= 2 s',
  },
  {
    benchmark: 'host cold start: spawn -> first task Completed',
    median: ms(median(cold.first)),
    p99: `max ${ms(Math.max(...cold.first))}`,
    ratio: '',
    target: '',
  },
  {
    benchmark: `host memory, ${POOL} idle runspaces (working set / GC heap)`,
    median: `${(w.memory.workingSet / 2 ** 20).toFixed(0)} MiB / ${(w.memory.gcHeap / 2 ** 20).toFixed(0)} MiB`,
    p99: '',
    ratio: '',
    target: '',
  },
];
if (pj) {
  const thread = median(pj.thread);
  const proc = median(pj.process);
  rows.push(
    {
      benchmark: "Start-ThreadJob { 'ok' } | Receive-Job -Wait -AutoRemoveJob (per job)",
      median: ms(thread),
      p99: ms(percentile(pj.thread, 99)),
      ratio: `Kr ${(thread / ours).toFixed(1)}x faster`,
      target: '>= 10x',
    },
    {
      benchmark: "Start-Job { 'ok' } | Receive-Job -Wait -AutoRemoveJob (per job)",
      median: ms(proc),
      p99: ms(percentile(pj.process, 99)),
      ratio: `Kr ${(proc / ours).toFixed(0)}x faster`,
      target: '',
    },
  );
} else {
  rows.push({
    benchmark: 'Start-ThreadJob / Start-Job comparison',
    median: 'skipped: no pwsh',
    p99: '',
    ratio: '',
    target: '',
  });
}
table(rows);
