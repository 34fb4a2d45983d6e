import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostError } from './errors.js';
import { createFrameDecoder, toFrame } from './frame-codec.js';
import { parseFromHost } from './from-host.js';
import type { FromHostMessage } from './from-host.js';
import { toExitFailure, toHostFailureMessage } from './host-failure.js';
import type { HostFailure, HostFailureKind } from './host-failure.js';
import type { ToHostNotification, ToHostRequest } from './to-host.js';

/** Options of {@link createHostSupervisor}. */
export interface HostSupervisorOptions {
  /** Display name used in failure messages: "PowerShell host" -> "PowerShell host exited with signal SIGKILL". */
  name: string;
  /** The executable (`dotnet`, or an apphost). */
  command: string;
  /** Arguments before `--socket PATH` (e.g. the host's dll when `command` is `dotnet`). */
  args?: readonly string[];
  /** Extra environment, on top of `process.env`. */
  env?: Readonly<Record<string, string>>;
  cwd?: string;
  /** Start the host now rather than on the first request. Default true. */
  autoStart?: boolean;
  /** Spawn -> ready budget (warm-up included). Default 60 s. */
  startTimeoutMs?: number;
  /** Restart after an unexpected exit: delay doubles from `initialDelayMs` up to `maxDelayMs`; resets after `resetAfterMs` of uptime. */
  restart?: { initialDelayMs?: number; maxDelayMs?: number; resetAfterMs?: number };
  /** Health request every `intervalMs`; no answer within `timeoutMs` kills and restarts the host. `false` disables. */
  heartbeat?: { intervalMs?: number; timeoutMs?: number } | false;
  /** Receives the host's stdout/stderr lines and supervisor notes. Default: kept in a small ring buffer only. */
  log?: (entry: HostLogEntry) => void;
  /** Longer log lines are cut. Default 4096 characters. */
  maxLogLineLength?: number;
  /** How long dispose waits for a graceful exit before SIGKILL. Default 2000 ms. */
  shutdownGraceMs?: number;
}

export interface HostLogEntry {
  readonly source: 'stdout' | 'stderr' | 'supervisor';
  readonly text: string;
}

/** What the running host reported when it became ready. */
export interface HostInfo {
  readonly pid: number;
  readonly languages: readonly string[];
  readonly runtime: string;
  /** Engine warm-up inside the host. */
  readonly warmupMs: number;
  /** Spawn -> ready, measured in Node. */
  readonly startMs: number;
  /** 1 for the first host, +1 per restart. */
  readonly generation: number;
}

export type HostStatus = 'idle' | 'starting' | 'ready' | 'restarting' | 'disposed';

export type HostEvent = Extract<FromHostMessage, { t: 'event' }>;

/** Spawns, watches and restarts one .NET host process and carries requests to it. */
export interface HostSupervisor {
  readonly status: HostStatus;
  /** The running host, once ready. */
  readonly info: HostInfo | undefined;
  /** Why the previous host went away, if one did. */
  readonly lastFailure: HostFailure | undefined;
  /** Resolves when a host is ready (starting one if needed); rejects when it cannot start. */
  ready(): Promise<HostInfo>;
  /** Sends a request and resolves with the response body; rejects with a {@link HostError}. */
  request(message: ToHostRequest, options?: { timeoutMs?: number }): Promise<unknown>;
  /** Sends a notification to the ready host; false when there is none. */
  notify(message: ToHostNotification): boolean;
  /** Task events (progress, output) from any host generation. */
  onEvent(listener: (event: HostEvent) => void): () => void;
  /** Called each time a host goes away. */
  onExit(listener: (failure: HostFailure) => void): () => void;
  /** Kills the current host (and its process group) and starts a new one. */
  recycle(kind?: HostFailureKind, detail?: string): void;
  /**
   * Replaces the host without a gap: starts a new host while the old one keeps serving, routes every
   * new request to the new one once it is ready, lets the old one finish the requests it has in flight
   * (at most `drainTimeoutMs`, default 60 s; then they fail as recycled), and shuts it down with its
   * process group. Task-addressed messages (`cancel`, `forceStop`) reach the draining host too.
   * Resolves with the new host's info; a second call while one is under way joins it. Without a ready
   * host it is {@link recycle}.
   */
  replace(options?: { drainTimeoutMs?: number; detail?: string }): Promise<HostInfo>;
  /** Hosts retired by {@link replace} that are still finishing their work. */
  readonly draining: number;
  /** Graceful shutdown, then SIGKILL; fails whatever is in flight. */
  dispose(): Promise<void>;
}

interface Pending {
  resolve: (body: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

interface Instance {
  readonly generation: number;
  readonly child: ChildProcess;
  readonly server: Server;
  readonly socketPath: string;
  readonly spawnedAt: number;
  readonly pending: Map<number, Pending>;
  socket: Socket | undefined;
  info: HostInfo | undefined;
  gone: boolean;
  killReason: HostFailure | undefined;
  timers: NodeJS.Timeout[];
  exited: Promise<void>;
}

const isPosix = process.platform !== 'win32';
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** The host must never outlive Node: on exit, kill every host's process group synchronously. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) killTree(child);
  });
}

function killTree(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    if (isPosix) process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    // Already gone.
  }
}

function toSocketPath(): string {
  const id = randomBytes(8).toString('hex');
  if (!isPosix) return `\\\\.\\pipe\\kr-host-${id}`;
  const preferred = join(tmpdir(), `kr-host-${id}.sock`);
  // sun_path holds 107 bytes on Linux, 103 on macOS.
  return preferred.length < 100 ? preferred : `/tmp/kr-host-${id}.sock`;
}

/**
 * Creates the supervisor of one .NET script host. The host is spawned in its own process group
 * (stdin ignored, stdout/stderr drained to `log`), connects back over a Unix socket / named pipe
 * that Node listens on, and speaks length-prefixed JSON frames there.
 *
 * @example
 * const host = createHostSupervisor({ name: 'PowerShell host', command: 'dotnet', args: [dll] });
 * const info = await host.ready();
 * const health = await host.request({ t: 'health' });
 * await host.dispose();
 */
export function createHostSupervisor(options: HostSupervisorOptions): HostSupervisor {
  const name = options.name;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const restart = { initialDelayMs: 250, maxDelayMs: 10_000, resetAfterMs: 30_000, ...options.restart };
  const heartbeat =
    options.heartbeat === false ? undefined : { intervalMs: 5_000, timeoutMs: 15_000, ...options.heartbeat };
  const maxLine = options.maxLogLineLength ?? 4096;
  const shutdownGraceMs = options.shutdownGraceMs ?? 2_000;
  const recentStderr: string[] = [];

  let status: HostStatus = 'idle';
  let current: Instance | undefined;
  let generation = 0;
  let seq = 0;
  let failures = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let lastFailure: HostFailure | undefined;
  // replace(): the host being started next to `current`, and the old ones finishing their requests.
  let incoming: Instance | undefined;
  let replacement:
    | {
        instance: Instance;
        drainTimeoutMs: number;
        promise: Promise<HostInfo>;
        settle: (error?: Error) => void;
      }
    | undefined;
  const draining = new Set<Instance>();
  const waiters: { resolve: (info: HostInfo) => void; reject: (error: Error) => void }[] = [];
  const eventListeners = new Set<(event: HostEvent) => void>();
  const exitListeners = new Set<(failure: HostFailure) => void>();

  const log = (entry: HostLogEntry): void => {
    if (entry.source === 'stderr') {
      recentStderr.push(entry.text);
      if (recentStderr.length > 20) recentStderr.shift();
    }
    try {
      options.log?.(entry);
    } catch {
      // A throwing logger must not take the supervisor down.
    }
  };

  const drain = (stream: NodeJS.ReadableStream | null, source: 'stdout' | 'stderr'): void => {
    if (!stream) return;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      partial += chunk;
      let index: number;
      while ((index = partial.indexOf('\n')) >= 0) {
        log({ source, text: partial.slice(0, Math.min(index, maxLine)) });
        partial = partial.slice(index + 1);
      }
      if (partial.length > maxLine) {
        log({ source, text: partial.slice(0, maxLine) });
        partial = '';
      }
    });
    stream.on('end', () => {
      if (partial) log({ source, text: partial.slice(0, maxLine) });
    });
  };

  const updateRef = (instance?: Instance): void => {
    // Keep Node alive while someone waits for the host (ready or a request), and only then: an idle
    // host must not stop the owner from exiting.
    const busy = waiters.length > 0 || (instance?.pending.size ?? 0) > 0;
    if (instance) {
      if (busy) instance.child.ref();
      else instance.child.unref();
      if (instance.socket) {
        if (busy) instance.socket.ref();
        else instance.socket.unref();
      }
    }
    if (restartTimer) {
      if (busy) restartTimer.ref();
      else restartTimer.unref();
    }
  };

  const send = (instance: Instance, message: unknown): void => {
    instance.socket?.write(toFrame(message));
  };

  const start = (): void => {
    if (status === 'disposed' || current) return;
    installExitHook();
    status = generation === 0 ? 'starting' : 'restarting';
    current = spawnInstance();
  };

  const spawnInstance = (): Instance => {
    installExitHook();
    const socketPath = toSocketPath();
    const server = createServer();
    const spawnedAt = performance.now();
    const child = spawn(options.command, [...(options.args ?? []), '--socket', socketPath], {
      cwd: options.cwd,
      env: {
        ...process.env,
        ...options.env,
        KR_HOST_SOCKET: socketPath,
        KR_HOST_PARENT_PID: String(process.pid),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: isPosix,
      windowsHide: true,
    });
    let markExited: () => void = () => undefined;
    const instance: Instance = {
      generation: ++generation,
      child,
      server,
      socketPath,
      spawnedAt,
      pending: new Map(),
      socket: undefined,
      info: undefined,
      gone: false,
      killReason: undefined,
      timers: [],
      exited: new Promise<void>((resolve) => (markExited = resolve)),
    };
    liveChildren.add(child);
    updateRef(instance);
    drain(child.stdout, 'stdout');
    drain(child.stderr, 'stderr');
    (child.stdout as unknown as Socket | null)?.unref?.();
    (child.stderr as unknown as Socket | null)?.unref?.();

    child.on('error', (error) => {
      markExited();
      gone(instance, {
        kind: 'spawn-failed',
        host: name,
        detail: `${error.message} (command: ${options.command})`,
      });
    });
    child.on('exit', (code, signal) => {
      markExited();
      gone(instance, instance.killReason ?? toExitFailure(name, code, signal, stderrHint()));
    });

    server.on('error', (error) =>
      kill(instance, { kind: 'start-failed', host: name, detail: `channel: ${error.message}` }),
    );
    server.listen(socketPath);
    server.unref();
    server.once('connection', (socket) => {
      instance.socket = socket;
      server.close();
      unlinkSocket(socketPath);
      updateRef(instance);
      const decoder = createFrameDecoder(
        (value) => receive(instance, value),
        (error) => kill(instance, { kind: 'protocol', host: name, detail: error.message }),
      );
      socket.on('data', (chunk: Buffer) => decoder.push(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        // The host exits when its channel closes; make sure it does.
        if (!instance.gone)
          instance.timers.push(
            setTimeout(
              () => kill(instance, { kind: 'protocol', host: name, detail: 'the channel closed' }),
              3_000,
            ).unref(),
          );
      });
    });
    instance.timers.push(
      setTimeout(() => {
        if (!instance.info)
          kill(instance, {
            kind: 'start-failed',
            host: name,
            detail: `not ready after ${startTimeoutMs} ms${stderrHint(': ')}`,
          });
      }, startTimeoutMs).unref(),
    );
    return instance;
  };

  const stderrHint = (prefix = ''): string | undefined => {
    const tail = recentStderr.slice(-3).join(' | ').trim();
    return tail ? `${prefix}${tail}`.slice(0, 500) : prefix ? '' : undefined;
  };

  const receive = (instance: Instance, value: unknown): void => {
    const parsed = parseFromHost(value);
    if (!parsed.ok) {
      log({
        source: 'supervisor',
        text: `ignored an invalid message from the host: ${parsed.errors.join('; ')}`,
      });
      return;
    }
    const message = parsed.value;
    switch (message.t) {
      case 'ready': {
        const info: HostInfo = {
          pid: message.pid,
          languages: message.languages,
          runtime: message.runtime,
          warmupMs: message.warmupMs,
          startMs: performance.now() - instance.spawnedAt,
          generation: instance.generation,
        };
        instance.info = info;
        if (instance === incoming) promote(instance);
        else if (instance !== current) return;
        if (replacement?.instance === instance) {
          replacement.settle();
          replacement = undefined;
        }
        status = 'ready';
        if (heartbeat) startHeartbeat(instance, heartbeat.intervalMs, heartbeat.timeoutMs);
        for (const waiter of waiters.splice(0)) waiter.resolve(info);
        updateRef(instance);
        return;
      }
      case 'fatal':
        log({ source: 'supervisor', text: `host reported: ${message.message}` });
        instance.killReason = { kind: 'start-failed', host: name, detail: message.message };
        return;
      case 'response': {
        const pending = instance.pending.get(message.id);
        if (!pending) return;
        instance.pending.delete(message.id);
        if (pending.timer) clearTimeout(pending.timer);
        updateRef(instance);
        if (draining.has(instance) && instance.pending.size === 0) retire(instance);
        if (message.ok) pending.resolve(message.body);
        else
          pending.reject(
            new HostError('HOST_REQUEST_FAILED', `${message.error.type}: ${message.error.message}`),
          );
        return;
      }
      case 'event':
        for (const listener of eventListeners) {
          try {
            listener(message);
          } catch (error) {
            log({ source: 'supervisor', text: `event listener threw: ${String(error)}` });
          }
        }
        return;
    }
  };

  const startHeartbeat = (instance: Instance, intervalMs: number, timeoutMs: number): void => {
    const timer = setInterval(() => {
      if (instance.gone) return;
      requestOn(instance, { t: 'health' }, timeoutMs).catch((error: unknown) => {
        if (error instanceof HostError && error.code === 'HOST_TIMEOUT') {
          kill(instance, {
            kind: 'unresponsive',
            host: name,
            detail: `no heartbeat answer within ${timeoutMs} ms`,
          });
        }
      });
    }, intervalMs);
    timer.unref();
    instance.timers.push(timer);
  };

  /** The replacement is ready: it becomes `current`, the old host drains. */
  const promote = (instance: Instance): void => {
    const old = current;
    const drainTimeoutMs = replacement?.drainTimeoutMs ?? 60_000;
    incoming = undefined;
    current = instance;
    if (!old || old.gone) return;
    draining.add(old);
    // No heartbeats or start timers on a host that only finishes what it has.
    for (const timer of old.timers) clearTimeout(timer);
    old.timers = [];
    log({
      source: 'supervisor',
      text: `host pid ${old.child.pid ?? '?'} replaced by pid ${instance.info?.pid ?? '?'}; draining ${old.pending.size} request(s)`,
    });
    if (old.pending.size === 0) {
      retire(old);
      return;
    }
    old.timers.push(
      setTimeout(
        () =>
          kill(old, {
            kind: 'recycled',
            host: name,
            detail: `still busy ${drainTimeoutMs} ms after it was replaced`,
          }),
        drainTimeoutMs,
      ).unref(),
    );
  };

  /** A drained host: ask it to exit (it takes its process group along), kill it if it does not. */
  const retire = (instance: Instance): void => {
    if (instance.gone) return;
    instance.killReason ??= { kind: 'recycled', host: name, detail: 'replaced and drained' };
    send(instance, { t: 'shutdown' });
    instance.timers.push(setTimeout(() => kill(instance, instance.killReason!), shutdownGraceMs).unref());
  };

  const kill = (instance: Instance, reason: HostFailure): void => {
    if (instance.gone) return;
    instance.killReason ??= reason;
    log({
      source: 'supervisor',
      text: `killing host pid ${instance.child.pid ?? '?'}: ${toHostFailureMessage(reason)}`,
    });
    killTree(instance.child);
    // A child that never spawned emits no exit: settle now.
    if (instance.child.pid === undefined) gone(instance, reason);
  };

  const gone = (instance: Instance, failure: HostFailure): void => {
    if (instance.gone) return;
    instance.gone = true;
    // Reap the whole group: a SIGKILLed host cannot take its script's children with it.
    killTree(instance.child);
    liveChildren.delete(instance.child);
    for (const timer of instance.timers) clearTimeout(timer);
    instance.server.close();
    instance.socket?.destroy();
    unlinkSocket(instance.socketPath);
    const wasReady = instance.info !== undefined;
    lastFailure = failure;
    const error = HostError.fromFailure(status === 'disposed' ? 'DISPOSED' : 'HOST_EXITED', failure);
    for (const pending of instance.pending.values()) {
      if (pending.timer) clearTimeout(pending.timer);
      pending.reject(error);
    }
    instance.pending.clear();
    if (draining.delete(instance)) {
      log({ source: 'supervisor', text: `retired: ${toHostFailureMessage(failure)}` });
      return;
    }
    if (instance === incoming) {
      // The replacement never became ready: the old host simply stays.
      incoming = undefined;
      log({ source: 'supervisor', text: `replacement failed: ${toHostFailureMessage(failure)}` });
      replacement?.settle(HostError.fromFailure('HOST_UNAVAILABLE', failure));
      replacement = undefined;
      return;
    }
    if (current === instance) current = undefined;
    log({ source: 'supervisor', text: toHostFailureMessage(failure) });
    for (const listener of exitListeners) {
      try {
        listener(failure);
      } catch {
        // Listeners must not break supervision.
      }
    }
    if (status === 'disposed') return;
    if (incoming) {
      // The current host died while its replacement was starting: the replacement takes over.
      current = incoming;
      incoming = undefined;
      status = 'restarting';
      return;
    }
    if (!wasReady) {
      // It never started: fail whoever waits, and try again only when someone asks (no spawn loop
      // when dotnet or the build is missing).
      const unavailable = HostError.fromFailure('HOST_UNAVAILABLE', failure);
      for (const waiter of waiters.splice(0)) waiter.reject(unavailable);
      status = 'idle';
      return;
    }
    const uptime = performance.now() - instance.spawnedAt;
    if (uptime > restart.resetAfterMs) failures = 0;
    const delay = Math.min(restart.maxDelayMs, restart.initialDelayMs * 2 ** failures);
    failures++;
    status = 'restarting';
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      start();
    }, delay);
    updateRef();
  };

  const requestOn = (
    instance: Instance,
    message: ToHostRequest,
    timeoutMs: number | undefined,
  ): Promise<unknown> =>
    new Promise<unknown>((resolve, reject) => {
      if (instance.gone) {
        reject(HostError.fromFailure('HOST_EXITED', lastFailure ?? { kind: 'exited', host: name }));
        return;
      }
      const id = ++seq;
      const pending: Pending = { resolve, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        pending.timer = setTimeout(() => {
          instance.pending.delete(id);
          updateRef(instance);
          reject(
            new HostError('HOST_TIMEOUT', `${name} did not answer '${message.t}' within ${timeoutMs} ms`),
          );
        }, timeoutMs);
      }
      instance.pending.set(id, pending);
      updateRef(instance);
      send(instance, { ...message, id });
    });

  const ready = (): Promise<HostInfo> => {
    if (status === 'disposed')
      return Promise.reject(new HostError('DISPOSED', `${name} supervisor was disposed`));
    if (current?.info && !current.gone) return Promise.resolve(current.info);
    const promise = new Promise<HostInfo>((resolve, reject) => waiters.push({ resolve, reject }));
    if (!current && restartTimer === undefined) start();
    updateRef(current);
    return promise;
  };

  if (options.autoStart !== false) start();

  return {
    get status() {
      return status;
    },
    get info() {
      return current?.info;
    },
    get lastFailure() {
      return lastFailure;
    },
    ready,
    async request(message, requestOptions = {}) {
      await ready();
      const instance = current;
      if (!instance)
        throw HostError.fromFailure('HOST_EXITED', lastFailure ?? { kind: 'exited', host: name });
      // A task may still run on a draining host: forceStop goes there too (unknown ids are ignored).
      if (message.t === 'forceStop')
        for (const old of draining) requestOn(old, message, requestOptions.timeoutMs).catch(() => undefined);
      return requestOn(instance, message, requestOptions.timeoutMs);
    },
    notify(message) {
      if (message.t === 'cancel') for (const old of draining) if (!old.gone) send(old, message);
      const instance = current;
      if (!instance?.info || instance.gone) return false;
      send(instance, message);
      return true;
    },
    get draining() {
      return draining.size;
    },
    replace(replaceOptions = {}) {
      if (replacement) return replacement.promise;
      if (status === 'disposed')
        return Promise.reject(new HostError('DISPOSED', `${name} supervisor was disposed`));
      if (!current?.info || current.gone) {
        this.recycle('recycled', replaceOptions.detail);
        return ready();
      }
      log({
        source: 'supervisor',
        text: `replacing host pid ${current.info.pid}${replaceOptions.detail ? `: ${replaceOptions.detail}` : ''}`,
      });
      let settle: (error?: Error) => void = () => undefined;
      const promise = new Promise<HostInfo>((resolve, reject) => {
        settle = (error) => (error ? reject(error) : resolve(current!.info!));
      });
      incoming = spawnInstance();
      replacement = {
        instance: incoming,
        drainTimeoutMs: replaceOptions.drainTimeoutMs ?? 60_000,
        promise,
        settle,
      };
      return promise;
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onExit(listener) {
      exitListeners.add(listener);
      return () => exitListeners.delete(listener);
    },
    recycle(kind = 'recycled', detail) {
      const instance = current;
      if (instance) kill(instance, { kind, host: name, ...(detail ? { detail } : {}) });
      else if (status !== 'disposed' && restartTimer === undefined) start();
    },
    async dispose() {
      if (status === 'disposed') return;
      status = 'disposed';
      if (restartTimer) clearTimeout(restartTimer);
      const disposed = new HostError('DISPOSED', `${name} supervisor was disposed`);
      for (const waiter of waiters.splice(0)) waiter.reject(disposed);
      replacement?.settle(new HostError('DISPOSED', `${name} supervisor was disposed`));
      replacement = undefined;
      for (const other of [incoming, ...draining]) if (other) kill(other, { kind: 'disposed', host: name });
      const instance = current;
      if (!instance) return;
      instance.killReason = { kind: 'disposed', host: name };
      if (instance.socket && !instance.gone) send(instance, { t: 'shutdown' });
      const graceful = await Promise.race([
        instance.exited.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), shutdownGraceMs)),
      ]);
      if (!graceful) kill(instance, { kind: 'disposed', host: name });
      await Promise.race([instance.exited, new Promise((resolve) => setTimeout(resolve, 2_000))]);
      gone(instance, { kind: 'disposed', host: name });
    },
  };
}

function unlinkSocket(path: string): void {
  if (!isPosix) return;
  try {
    rmSync(path, { force: true });
  } catch {
    // Best effort: the host already connected.
  }
}
