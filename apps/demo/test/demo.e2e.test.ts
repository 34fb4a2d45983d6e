import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The tutorial server as a user runs it: `npm run demo` (scripts/demo.mjs) as a real process,
 * over HTTPS with its self-signed certificate, real PowerShell and real C#.
 */
const root = join(import.meta.dirname, '..', '..', '..');
const certDir = mkdtempSync(join(tmpdir(), 'kr-demo-cert-'));
let demo: ChildProcess;
let base = '';
let log = '';
let ca = '';

interface Reply {
  status: number;
  type: string;
  text: string;
  body: unknown;
}

/** GET over HTTPS, trusting exactly the demo's own certificate. */
function get(path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { ca }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const type = res.headers['content-type'] ?? '';
        resolve({
          status: res.statusCode ?? 0,
          type,
          text,
          body: type.includes('json') ? JSON.parse(text) : text,
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

type Task = {
  id: string;
  state: string;
  stateText: string;
  progress: { percentComplete: number; statusMessage: string };
  startedAt: string | null;
  completedAt: string | null;
  end: { reason: string; forced: boolean } | null;
};

const state = async (id: string): Promise<Task> => (await get(`/tasks/state?id=${id}`)).body as Task;

async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Child process ids, from /proc (Linux), so the test needs no procps. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function startDemo(): Promise<void> {
  demo = spawn(process.execPath, [join(root, 'scripts', 'demo.mjs'), '--port', '0', '--cert-dir', certDir], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'debug', FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      const match = /listening.*?(https:\/\/[\d.]+:\d+)/.exec(log);
      if (match && !base) {
        base = match[1]!;
        ca = readFileSync(join(certDir, 'demo-cert.pem'), 'utf8');
        resolve();
      }
    };
    demo.stdout!.on('data', onData);
    demo.stderr!.on('data', onData);
    demo.once('exit', (code) => reject(new Error(`demo exited with ${code} before listening:\n${log}`)));
  });
}

beforeAll(startDemo, 240_000);
afterAll(async () => {
  if (demo && demo.exitCode === null) {
    demo.kill('SIGKILL');
    await new Promise((resolve) => demo.once('exit', resolve));
  }
});

describe('the tutorial server', () => {
  it('should say hello', async () => {
    expect(await get('/hello')).toMatchObject({
      status: 200,
      text: 'Hello, Tasks World!',
      type: expect.stringMatching(/^text\/plain/),
    });
  });

  it('should list tasks as an array, also when there are none', async () => {
    expect(await get('/tasks/list')).toMatchObject({ status: 200, body: [] });
  });

  it('should run the PowerShell sequence: create, start, progress mid-run, Completed, result, remove', async () => {
    const created = await get('/tasks/create/ps?seconds=3');
    expect(created.status).toBe(200);
    const { id, language } = created.body as { id: string; language: string };
    expect(language).toBe('PowerShell');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(log).toContain('Creating PS task that sleeps for 3 seconds');
    expect(await state(id)).toMatchObject({ state: 'NotStarted', stateText: 'NotStarted', startedAt: null });
    expect((await get(`/tasks/result?id=${id}`)).status).toBe(409);

    expect(await get(`/tasks/start?id=${id}`)).toMatchObject({ status: 202, body: { started: true, id } });
    expect(await get(`/tasks/start?id=${id}`)).toMatchObject({ status: 409, body: { started: false, id } });

    const midRun = await until(
      () => state(id),
      (t) => t.progress.statusMessage.startsWith('Sleeping ('),
    );
    expect(midRun.state).toBe('Running');
    expect(midRun.progress.statusMessage).toMatch(/^Sleeping \([12]\/3\)$/);
    expect((await get(`/tasks/result?id=${id}`)).body).toEqual({ error: 'Task is not in a completed state' });

    const done = await until(
      () => state(id),
      (t) => t.state === 'Completed',
    );
    expect(done).toMatchObject({
      stateText: 'Completed',
      progress: { percentComplete: 100, statusMessage: 'Completed' },
    });
    expect(Date.parse(done.completedAt!)).toBeGreaterThan(Date.parse(done.startedAt!));

    const result = await get(`/tasks/result?id=${id.toUpperCase()}`);
    expect(result.status).toBe(200);
    expect(result.body).toMatch(/^PS task done at \d{4}-\d\d-\d\dT/);

    const list = (await get('/tasks/list')).body as Task[];
    expect(Array.isArray(list)).toBe(true);
    expect(list.map((t) => t.id)).toContain(id);

    expect(await get(`/tasks/remove?id=${id}`)).toMatchObject({ status: 200, body: { removed: true, id } });
    expect(await get(`/tasks/state?id=${id}`)).toMatchObject({
      status: 404,
      body: { error: 'Task not found' },
    });
    expect(await get(`/tasks/remove?id=${id}`)).toMatchObject({ status: 404, body: { removed: false, id } });
  });

  it('should run the C# sequence: create, start, Completed, result', async () => {
    const created = await get('/tasks/create/cs?ms=500');
    expect(created).toMatchObject({ status: 200, body: { language: 'CSharp' } });
    const { id } = created.body as { id: string };
    expect((await get(`/tasks/start?id=${id}`)).status).toBe(202);
    const done = await until(
      () => state(id),
      (t) => t.state === 'Completed' || t.state === 'Failed',
    );
    expect(done).toMatchObject({
      state: 'Completed',
      progress: { percentComplete: 100, statusMessage: 'Completed' },
    });
    const result = await get(`/tasks/result?id=${id}`);
    expect(result.body).toMatch(/^CS task done at \d{4}-\d\d-\d\dT/);
  });

  it('should create and start a one-shot task whose result is the current date', async () => {
    const run = await get('/tasks/run/ps');
    expect(run).toMatchObject({ status: 202, body: { started: true } });
    const { id } = run.body as { id: string };
    await until(
      () => state(id),
      (t) => t.state === 'Completed',
    );
    const result = (await get(`/tasks/result?id=${id}`)).body as string;
    expect(Math.abs(Date.parse(result) - Date.now())).toBeLessThan(60_000);
  });

  it('should cancel a running 5 s task and see it Stopped within 1 s', async () => {
    const { id } = (await get('/tasks/create/ps?seconds=5')).body as { id: string };
    await get(`/tasks/start?id=${id}`);
    await until(
      () => state(id),
      (t) => t.state === 'Running',
    );
    const asked = Date.now();
    expect(await get(`/tasks/cancel?id=${id}`)).toMatchObject({ status: 202, body: { cancelled: true, id } });
    const stopped = await until(
      () => state(id),
      (t) => t.state === 'Stopped',
      5_000,
      10,
    );
    expect(Date.now() - asked).toBeLessThan(1_000);
    expect(stopped.end).toMatchObject({ reason: 'cancelled', forced: false });
    expect(await get(`/tasks/cancel?id=${id}`)).toMatchObject({
      status: 409,
      body: { cancelled: false, id },
    });
    expect(await get(`/tasks/result?id=${id}`)).toMatchObject({ status: 200, body: null, text: 'null' });
  });

  it('should refuse to remove a task that has not finished', async () => {
    const { id } = (await get('/tasks/create/ps')).body as { id: string };
    expect(await get(`/tasks/remove?id=${id}`)).toMatchObject({ status: 404, body: { removed: false, id } });
    expect(await get(`/tasks/cancel?id=${id}`)).toMatchObject({ status: 202 });
    expect(await state(id)).toMatchObject({ state: 'Stopped' });
  });

  it.each(['start', 'state', 'result', 'cancel', 'remove'])(
    'should answer 400 to /tasks/%s without an id',
    async (route) => {
      const expected = { status: 400, body: { error: "Missing 'id' query parameter" } };
      expect(await get(`/tasks/${route}`)).toMatchObject(expected);
      expect(await get(`/tasks/${route}?id=`)).toMatchObject(expected);
      expect(await get(`/tasks/${route}?id=%20%20`)).toMatchObject(expected);
    },
  );

  it('should answer unknown ids as the tutorial does', async () => {
    expect(await get('/tasks/start?id=nope')).toMatchObject({
      status: 409,
      body: { started: false, id: 'nope' },
    });
    expect(await get('/tasks/state?id=nope')).toMatchObject({
      status: 404,
      body: { error: 'Task not found' },
    });
    expect(await get('/tasks/result?id=nope')).toMatchObject({
      status: 404,
      body: { error: 'Task not found' },
    });
    expect(await get('/tasks/cancel?id=nope')).toMatchObject({
      status: 409,
      body: { cancelled: false, id: 'nope' },
    });
    expect(await get('/tasks/remove?id=nope')).toMatchObject({
      status: 404,
      body: { removed: false, id: 'nope' },
    });
  });

  it.each([
    '/tasks/create/ps?seconds=abc',
    '/tasks/create/ps?seconds=-1',
    '/tasks/create/ps?seconds=1e400',
    '/tasks/create/ps?seconds=99999999',
    '/tasks/create/cs?ms=1e400',
    '/tasks/create/cs?ms=1.5',
    '/tasks/run/ps?seconds=abc',
  ])('should answer 400 with a clear message to %s', async (path) => {
    const reply = await get(path);
    expect(reply.status).toBe(400);
    expect((reply.body as { error: string }).error).toMatch(/must be an integer from 0 to \d+/);
  });

  it('should answer 404 to unknown routes', async () => {
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/tasks/create/python')).status).toBe(404);
  });

  it("should work with the tutorial's curl commands as written", async () => {
    const tools = spawnSync('bash', ['-c', 'command -v curl && command -v jq']);
    if (tools.status !== 0) {
      console.warn(
        'curl or jq is not installed; skipping the literal curl session (the routes are covered above)',
      );
      return;
    }
    const session = spawnSync(
      'bash',
      [
        '-c',
        `set -e
base='${base}'
id=$(curl -k -s "$base/tasks/create/ps?seconds=2" | jq -r .id)
curl -k -s "$base/tasks/create/cs?ms=1500" | jq -e .id > /dev/null
curl -k -s "$base/tasks/start?id=$id" | jq -e .started > /dev/null
curl -k -s "$base/tasks/state?id=$id" | jq -e .progress > /dev/null
curl -k -s "$base/tasks/result?id=$id" | jq .error
curl -k -s "$base/tasks/cancel?id=$id" | jq -e .cancelled > /dev/null
sleep 1
curl -k -s "$base/tasks/remove?id=$id" | jq -e .removed > /dev/null
curl -k -s "$base/tasks/list" | jq -e 'type == "array"' > /dev/null`,
      ],
      { encoding: 'utf8' },
    );
    expect(session.stderr).toBe('');
    expect(session.status).toBe(0);
  });

  it('should cancel running tasks, stop its hosts and exit 0 on SIGTERM', async () => {
    const { id } = (await get('/tasks/create/ps?seconds=30')).body as { id: string };
    await get(`/tasks/start?id=${id}`);
    await until(
      () => state(id),
      (t) => t.state === 'Running',
    );
    const hosts = childrenOf(demo.pid!);
    expect(hosts.length).toBeGreaterThanOrEqual(2); // the PowerShell and the C# host
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    demo.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).toMatch(/tasks stopped, hosts shut down/);
    // No .NET host outlives the server.
    await until(
      () => Promise.resolve(hosts.filter(isAlive)),
      (alive) => alive.length === 0,
      5_000,
    );
  }, 60_000);
});
