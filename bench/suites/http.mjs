// @kr/http-koa + apps/demo benchmarks (issue 5):
//  - GET /tasks/state with 10,000 tasks registered vs a bare Koa route answering the same JSON as a
//    constant, side by side (autocannon, loopback, alternating rounds)
//  - GET /tasks/list latency with 10,000 tasks
//  - SSE: a script's progress update -> the event at an SSE client, per engine
// Run: npm run bench -- http
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { percentile, table } from '../lib/stats.mjs';

const serverScript = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'http-server.mjs');
const ROUND_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = 3;

/** Starts a server process and reads its first stdout line ({ url, id }). */
async function startServer(...args) {
  const child = spawn(process.execPath, [serverScript, ...args], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  /** The server's CPU time so far, in µs. */
  const cpu = () =>
    new Promise((resolve) => {
      child.once('message', (usage) => resolve(usage.user + usage.system));
      child.send('cpu');
    });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`server ${args.join(' ')} exited with ${code}`)));
  });
  return {
    ...JSON.parse(first),
    cpu,
    stop: () => new Promise((r) => (child.kill(), child.once('exit', r))),
  };
}

const cannon = (url, options = {}) =>
  autocannon({ url, connections: 10, pipelining: 1, duration: ROUND_SECONDS, ...options });

const get = (url) =>
  new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve(JSON.parse(body)));
    })
      .on('error', reject)
      .end();
  });

async function stateThroughput() {
  const bare = await startServer('bare');
  const demo = await startServer('demo');
  const stateUrl = `${demo.url}/tasks/state?id=${demo.id}`;
  // Warm both, then alternate so machine noise hits both alike.
  await cannon(`${bare.url}/tasks/state`, { duration: 1 });
  await cannon(stateUrl, { duration: 1 });
  const results = { bare: [], demo: [] };
  // Server CPU per request is steadier than req/s on a small machine where autocannon shares the cores.
  const measured = async (server, url) => {
    const before = await server.cpu();
    const result = await cannon(url);
    result.cpuPerRequest = ((await server.cpu()) - before) / result.requests.total;
    return result;
  };
  for (let round = 0; round < ROUNDS; round++) {
    results.bare.push(await measured(bare, `${bare.url}/tasks/state`));
    results.demo.push(await measured(demo, stateUrl));
  }
  const list = await autocannon({ url: `${demo.url}/tasks/list`, connections: 1, amount: 40 });
  const listBytes = list.throughput.total / list.requests.total;
  await Promise.all([bare.stop(), demo.stop()]);
  const rps = (runs) => runs.reduce((sum, r) => sum + r.requests.average, 0) / runs.length;
  const cpu = (runs) => runs.reduce((sum, r) => sum + r.cpuPerRequest, 0) / runs.length;
  const errors = (runs) => runs.reduce((sum, r) => sum + r.errors + r.non2xx, 0);
  return { bare: results.bare, demo: results.demo, rps, cpu, errors, list, listBytes };
}

/** Opens /tasks/:id/events and measures now - the timestamp each progress event carries. */
async function sseLatency(engine, code, language, count) {
  const server = await startServer('sse', engine);
  try {
    const qs = new URLSearchParams({ code, language });
    const { id } = await get(`${server.url}/bench/create?${qs}`);
    const samples = [];
    const done = new Promise((resolve, reject) => {
      request(`${server.url}/tasks/${id}/events`, (res) => {
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk) => {
          const now = performance.timeOrigin + performance.now();
          buffer += chunk;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(frame)?.[1];
            const data = /^data: (.*)$/m.exec(frame)?.[1];
            if (event === 'progress') {
              const stamp = Number(JSON.parse(data).statusMessage);
              if (Number.isFinite(stamp)) samples.push(now - stamp);
            }
            if (event === 'end') resolve();
          }
        });
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    await new Promise((resolve) => setTimeout(resolve, 100)); // the stream is open
    await get(`${server.url}/bench/start?id=${id}`);
    await done;
    return samples.slice(Math.min(10, Math.floor(count / 10))); // drop the warm-up
  } finally {
    await server.stop();
  }
}

const STEPS = 200;
const SSE_SCRIPTS = {
  function: { language: '', code: '' },
  js: {
    language: 'javascript',
    code: `for (let i = 0; i < ${STEPS}; i++) {
  await new Promise((r) => setTimeout(r, 20));
  TaskProgress.statusMessage = String(performance.timeOrigin + performance.now());
}`,
  },
  pwsh: {
    language: 'powershell',
    code: `for ($i = 0; $i -lt ${STEPS}; $i++) {
  Start-Sleep -Milliseconds 20
  $TaskProgress.StatusMessage = [string][DateTime]::UtcNow.Subtract([DateTime]::UnixEpoch).TotalMilliseconds
}`,
  },
  csharp: {
    language: 'csharp',
    code: `for (var i = 0; i < ${STEPS}; i++) {
  await Task.Delay(20);
  TaskProgress.StatusMessage = DateTime.UtcNow.Subtract(DateTime.UnixEpoch).TotalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
}`,
  },
};

const state = await stateThroughput();
const ratio = state.rps(state.demo) / state.rps(state.bare);
const ms = (v) => `${v.toFixed(2)} ms`;
const cpuRatio = state.cpu(state.bare) / state.cpu(state.demo);
const rows = [
  {
    benchmark: 'GET /tasks/state, 10,000 tasks (demo app)',
    result: `${Math.round(state.rps(state.demo)).toLocaleString('en')} req/s`,
    p99: ms(
      percentile(
        state.demo.map((r) => r.latency.p99),
        50,
      ),
    ),
    ratio: `${(ratio * 100).toFixed(0)}% of bare`,
    target: '>= 80% of bare',
  },
  {
    benchmark: '  server CPU per request: demo vs bare',
    result: `${state.cpu(state.demo).toFixed(0)} µs vs ${state.cpu(state.bare).toFixed(0)} µs`,
    p99: '',
    ratio: `${(cpuRatio * 100).toFixed(0)}% of bare`,
    target: '',
  },
  {
    benchmark: 'same JSON from a bare Koa route',
    result: `${Math.round(state.rps(state.bare)).toLocaleString('en')} req/s`,
    p99: ms(
      percentile(
        state.bare.map((r) => r.latency.p99),
        50,
      ),
    ),
    ratio: '100%',
    target: '',
  },
  {
    benchmark: `GET /tasks/list, 10,000 tasks (${(state.listBytes / 1024 / 1024).toFixed(1)} MB), median`,
    result: ms(state.list.latency.p50),
    p99: ms(state.list.latency.p99),
    ratio: '',
    target: '',
  },
];
const engines = process.env.BENCH_SSE_ENGINES?.split(',') ?? ['function', 'js', 'pwsh', 'csharp'];
for (const engine of engines) {
  try {
    const { language, code } = SSE_SCRIPTS[engine];
    const samples = await sseLatency(engine, code, language, STEPS);
    rows.push({
      benchmark: `SSE progress -> client, ${engine} (${samples.length} events), median`,
      result: ms(percentile(samples, 50)),
      p99: ms(percentile(samples, 99)),
      ratio: '',
      target: 'median <= 20 ms',
    });
  } catch (error) {
    rows.push({ benchmark: `SSE progress -> client, ${engine}`, result: `not run: ${error.message}` });
  }
}
if (state.errors(state.demo) + state.errors(state.bare) > 0)
  console.warn(
    `warning: ${state.errors(state.demo)} demo / ${state.errors(state.bare)} bare errors or non-2xx`,
  );
table(rows);
