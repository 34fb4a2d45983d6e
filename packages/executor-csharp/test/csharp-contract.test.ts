// The shared executor conformance suite, once per language, against the real host.
// Imported by path: @kr/test-utils is not (yet) a devDependency of this package.
import { describe, it } from 'vitest';
import { describeExecutorContract } from '@kr/test-utils';
import { createCSharpExecutor } from '../src/index.js';
import { missing, mustFail } from './csharp-env.js';

describe.runIf(mustFail)('executor-csharp prerequisites (contract)', () => {
  it('should find dotnet and the built C# host (CI=true)', () => {
    throw new Error(`Cannot run the C# contract suite: ${missing}`);
  });
});

const createExecutor = async () => {
  const executor = createCSharpExecutor({ maxConcurrency: 4 });
  await executor.ready();
  return executor;
};

if (missing === undefined) {
  describeExecutorContract({
    name: 'csharp',
    language: 'csharp',
    createExecutor,
    gracePeriodMs: 300,
    scripts: {
      answer: '40 + 2',
      greet: '$"Hello, {name}!"',
      printsHello: 'Console.WriteLine("hello");',
      throwsOnLine2: 'var x = 1;\nthrow new Exception("kaboom");',
      syntaxErrorOnLine2: 'var x = 1;\nvar = 2;',
      progressThenWait:
        'TaskProgress.PercentComplete = 50;\nTaskProgress.StatusMessage = "half way";\nawait Task.Delay(60_000, ct);',
      ignoresCancel: 'System.Threading.Thread.Sleep(60_000);',
      blankStatus: 'TaskProgress.StatusMessage = " ";',
    },
  });

  describeExecutorContract({
    name: 'vbnet',
    language: 'vbnet',
    createExecutor,
    gracePeriodMs: 300,
    scripts: {
      answer: 'Return 40 + 2',
      greet: 'Return $"Hello, {name}!"',
      printsHello: 'Console.WriteLine("hello")',
      throwsOnLine2: 'Dim x = 1\nThrow New Exception("kaboom")',
      syntaxErrorOnLine2: 'Dim x = 1\nDim = 2',
      progressThenWait:
        'TaskProgress.PercentComplete = 50\nTaskProgress.StatusMessage = "half way"\nAwait Task.Delay(60000, ct)',
      ignoresCancel: 'System.Threading.Thread.Sleep(60000)',
      blankStatus: 'TaskProgress.StatusMessage = " "',
    },
  });
}
