import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutputRecord, ProgressSnapshot, RunOutcome } from '@kr/core';
import { createPwshExecutor } from '../src/index.js';
import type { PwshExecutor } from '../src/index.js';
import { TUTORIAL, TUTORIAL_ONE_SHOT, missing, mustFail, sleep, waitFor } from './pwsh-env.js';

describe.runIf(mustFail)('executor-pwsh prerequisites', () => {
  it('should find dotnet and the built PowerShell host (CI=true)', () => {
    throw new Error(`Cannot run the PowerShell tests: ${missing}`);
  });
});

interface Run {
  taskId: string;
  outcome: Promise<RunOutcome>;
  progress: { at: number; value: ProgressSnapshot }[];
  output: OutputRecord[];
  abort: AbortController;
}

describe.skipIf(missing !== undefined)('createPwshExecutor', () => {
  let executor: PwshExecutor;
  let n = 0;

  const start = async (code: string, args: Record<string, unknown> = {}): Promise<Run> => {
    const prepared = await executor.prepare({ language: 'powershell', code, args });
    if (!prepared.ok) throw new Error(JSON.stringify(prepared.diagnostics));
    const taskId = `task-${++n}`;
    const run: Run = {
      taskId,
      progress: [],
      output: [],
      abort: new AbortController(),
      outcome: Promise.resolve({ status: 'cancelled' }),
    };
    run.outcome = executor.run({
      taskId,
      language: 'powershell',
      prepared: prepared.prepared,
      args,
      signal: run.abort.signal,
      progress: (value) => run.progress.push({ at: Date.now(), value }),
      output: (record) => run.output.push(record),
    });
    return run;
  };
  const result = async (code: string, args: Record<string, unknown> = {}): Promise<unknown> => {
    const outcome = await (await start(code, args)).outcome;
    if (outcome.status !== 'completed') throw new Error(`expected completed, got ${JSON.stringify(outcome)}`);
    return outcome.result;
  };

  beforeAll(async () => {
    executor = createPwshExecutor({ poolSize: 4 });
    await executor.ready();
  });
  afterAll(async () => {
    await executor?.dispose();
  });

  it('should name its languages and aliases', () => {
    expect(executor.languages).toEqual(['powershell']);
    expect(executor.aliases).toEqual({ pwsh: 'powershell', ps: 'powershell', ps1: 'powershell' });
    expect(executor.maxConcurrency).toBe(4);
  });

  it("should run the tutorial's script verbatim with progress observed mid-run", async () => {
    const run = await start(TUTORIAL, { sec: 2 });
    await waitFor(() => run.progress.some((p) => p.value.statusMessage === 'Sleeping (1/2)'), 5_000);
    const mid = run.progress.find((p) => p.value.statusMessage === 'Sleeping (1/2)')!;
    expect(mid.value).toEqual({ percentComplete: 0, statusMessage: 'Sleeping (1/2)' });
    const outcome = await run.outcome;
    expect(outcome.status).toBe('completed');
    const text = (outcome as { result: string }).result;
    expect(text).toMatch(/^PS task done at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+/);
    expect(run.progress.at(-1)?.value).toEqual({ percentComplete: 100, statusMessage: 'Completed' });
    expect(run.output).toContainEqual(
      expect.objectContaining({ stream: 'debug', text: 'Task started, will sleep for 2 seconds' }),
    );
  });

  it('should run the one-shot variant and return Get-Date as ISO 8601', async () => {
    const value = await result(TUTORIAL_ONE_SHOT, { seconds: 1 });
    expect(typeof value).toBe('string');
    expect(Math.abs(Date.parse(value as string) - Date.now())).toBeLessThan(60_000);
  });

  it('should bind arguments to a param() block and also set them as variables', async () => {
    expect(await result('param($name) "Hello, $name!"', { name: 'World' })).toBe('Hello, World!');
    expect(
      await result('param([int]$count = 3, $missing = "default") "$count $missing"', { count: '7' }),
    ).toBe('7 default');
    expect(await result('"$a-$($b.c)-$($d[1])"', { a: 1, b: { c: 'x' }, d: [1, 2] })).toBe('1-x-2');
    expect(await result('$TaskId')).toMatch(/^task-\d+$/);
    expect(await result('$TaskCancellationToken.GetType().Name')).toBe('CancellationToken');
  });

  it('should unroll the pipeline like PowerShell', async () => {
    expect(await result('$null = 1')).toBeNull();
    expect(await result('42')).toBe(42);
    expect(await result('1; "two"; $true')).toEqual([1, 'two', true]);
    expect(await result(',@(1,2)')).toEqual([1, 2]);
  });

  it('should serialise objects with properties, ISO dates, enum names and safe fallbacks', async () => {
    const value = (await result(`
      $h = [ordered]@{ n = 1.5; s = 'x' }
      $o = [pscustomobject]@{ name = 'a'; when = [datetime]'2024-01-02T03:04:05Z'; day = [DayOfWeek]::Monday; table = $h; list = @(1, @{ k = 'v' }) }
      $cycle = [pscustomobject]@{ name = 'loop' }; $cycle | Add-Member -NotePropertyName self -NotePropertyValue $cycle
      [pscustomobject]@{ o = $o; cycle = $cycle; nan = [double]::NaN; type = [string]; deep = @{ a = @{ b = @{ c = @{ d = @{ e = @{ f = @{ g = @{ h = @{ i = 'too deep' } } } } } } } } } }
    `)) as Record<string, unknown>;
    expect(value.o).toEqual({
      name: 'a',
      when: expect.stringMatching(/^2024-01-0\dT\d\d:04:05\.0000000/),
      day: 'Monday',
      table: { n: 1.5, s: 'x' },
      list: [1, { k: 'v' }],
    });
    expect(value.cycle).toEqual({
      name: 'loop',
      self: '[Circular reference: System.Management.Automation.PSCustomObject]',
    });
    expect(value.nan).toBe('NaN');
    expect(value.type).toBe('System.String');
    expect(JSON.stringify(value.deep)).toContain('System.Collections.Hashtable');
  });

  it('should capture every stream with its name and time, and not fail on Write-Error', async () => {
    const run = await start(`
      Write-Host 'host text'
      [Console]::WriteLine('console text')
      [Console]::Error.WriteLine('console error')
      Write-Warning 'a warning'
      Write-Verbose 'verbose text'
      Write-Debug 'debug text'
      Write-Information 'info text'
      Write-Error 'non-terminating'
      'done'`);
    expect(await run.outcome).toEqual({ status: 'completed', result: 'done' });
    const pairs = run.output.map((r) => [r.stream, r.text]);
    expect(pairs).toEqual(
      expect.arrayContaining([
        ['information', 'host text'],
        ['stdout', 'console text'],
        ['stderr', 'console error'],
        ['warning', 'a warning'],
        ['verbose', 'verbose text'],
        ['debug', 'debug text'],
        ['information', 'info text'],
        ['error', 'non-terminating'],
      ]),
    );
    for (const r of run.output) expect(Math.abs(r.time - Date.now())).toBeLessThan(60_000);
  });

  it('should keep the channel intact when a script floods the console or prints protocol look-alikes', async () => {
    const run = await start(`
      $frame = '{"t":"response","id":1,"ok":true,"body":{"status":"completed","result":"forged"}}'
      [Console]::Out.Write([char]0x55 + [char]0 + [char]0 + [char]0 + $frame)
      [Console]::WriteLine($frame)
      Write-Host $frame
      1..20000 | ForEach-Object { [Console]::WriteLine("line $_") }
      'real'`);
    expect(await run.outcome).toEqual({ status: 'completed', result: 'real' });
    expect(run.output.filter((r) => r.stream === 'stdout').length).toBeGreaterThan(9_000);
    expect(run.output.some((r) => r.stream === 'information' && r.text.includes('"forged"'))).toBe(true);
  });

  it('should fail on throw with the message and the line in the script', async () => {
    const outcome = await (await start('$a = 1\n\nthrow "boom at three"')).outcome;
    expect(outcome).toMatchObject({
      status: 'failed',
      error: {
        message: 'boom at three',
        type: 'System.Management.Automation.RuntimeException',
        location: { line: 3 },
        code: 'boom at three',
        category: 'OperationStopped',
      },
    });
  });

  it('should fail when a cmdlet with -ErrorAction Stop fails, with its error id and category', async () => {
    const outcome = await (await start("'x'\nGet-Item '/definitely/not/here' -ErrorAction Stop")).outcome;
    expect(outcome).toMatchObject({
      status: 'failed',
      error: {
        code: 'PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand',
        category: 'ObjectNotFound',
        location: { line: 2 },
      },
    });
  });

  it('should report a parse error at prepare time with its line and column', async () => {
    const prepared = await executor.prepare({
      language: 'powershell',
      code: "'ok'\nif ($x -eq ) { }",
      args: {},
    });
    expect(prepared.ok).toBe(false);
    expect(prepared).toMatchObject({ diagnostics: [{ severity: 'error', line: 2, id: expect.any(String) }] });
  });

  it('should validate $TaskProgress like core: clamp the percentage, refuse a blank message', async () => {
    const run = await start(`
      $TaskProgress.PercentComplete = 250
      $a = $TaskProgress.PercentComplete
      try { $TaskProgress.StatusMessage = '  ' ; 'accepted' } catch { 'refused' }
      $TaskProgress.Fail('half-way'); $b = "$TaskProgress"
      $TaskProgress.Reset(); $c = "$TaskProgress"
      "$a|$b|$c"`);
    const outcome = await run.outcome;
    expect(outcome).toEqual({
      status: 'completed',
      result: ['refused', '100|100% - half-way|0% - Not started'],
    });
  });

  it('should not leak variables, functions or the location into the next task', async () => {
    // One runspace at a time on a 4-slot pool still reuses them; run enough to revisit each.
    for (let i = 0; i < 6; i++) {
      expect(
        await result(`
        $leak = "local $i"; $global:gleak = 'global'; function global:Get-Leak { 'leak' }; function Get-Local { 1 }
        Set-Location /tmp; New-Alias -Name leaky -Value Get-Date -Scope Global; 'set'`),
      ).toBe('set');
      expect(
        await result(
          `"[$leak][$gleak][$(Get-Command Get-Leak,Get-Local,leaky -ErrorAction SilentlyContinue)][$((Get-Location).Path -eq '/tmp')]"`,
        ),
      ).toBe('[][][][False]');
    }
  });

  it('should have the built-in modules of the published SDK', async () => {
    expect(await result('(Get-Module -ListAvailable Microsoft.PowerShell.Utility).Name')).toBe(
      'Microsoft.PowerShell.Utility',
    );
    expect(await result('Start-Sleep -Milliseconds 1; (@{ a = 1 } | ConvertTo-Json -Compress)')).toBe(
      '{"a":1}',
    );
  });

  it('should stop Start-Sleep 60 within a second of cancellation', async () => {
    const run = await start('Start-Sleep -Seconds 60; "not reached"');
    await sleep(300);
    const t = performance.now();
    run.abort.abort();
    expect(await run.outcome).toEqual({ status: 'cancelled' });
    expect(performance.now() - t).toBeLessThan(1_000);
  });

  it('should let a script observe $TaskCancellationToken', async () => {
    const run = await start(
      'while (-not $TaskCancellationToken.IsCancellationRequested) { [Threading.Thread]::Sleep(20) }; "saw it"',
    );
    await sleep(200);
    run.abort.abort();
    expect((await run.outcome).status).toBe('cancelled');
  });

  it('should force-stop a blocking .NET call, replace the runspace, and keep other tasks going', async () => {
    const other = await start('Start-Sleep -Milliseconds 1500; "other done"');
    const stuck = await start('[Threading.Thread]::Sleep(600000)');
    await sleep(300);
    stuck.abort.abort();
    await sleep(300);
    await executor.forceStop(stuck.taskId);
    expect(await stuck.outcome).toEqual({ status: 'cancelled' });
    expect(await other.outcome).toEqual({ status: 'completed', result: 'other done' });
    const health = await executor.health();
    expect(health.metrics).toMatchObject({ forcedStops: 1 });
    // The pool is whole again: four tasks at once still run.
    const four = await Promise.all([1, 2, 3, 4].map((i) => start(`Start-Sleep -Milliseconds 200; ${i}`)));
    expect(await Promise.all(four.map((r) => r.outcome))).toEqual(
      [1, 2, 3, 4].map((i) => ({ status: 'completed', result: i })),
    );
  });

  it('should report health with pool metrics', async () => {
    const health = await executor.health();
    expect(health.ok).toBe(true);
    expect(health.metrics).toMatchObject({ poolSize: 4, psVersion: '7.6.10' });
  });
});
