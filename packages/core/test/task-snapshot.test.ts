import { describe, expect, it } from 'vitest';
import { createTaskService } from '../src/index.js';
import type { TaskFunctionContext } from '../src/index.js';

describe('task snapshots', () => {
  it('should hand out the same frozen snapshot while a task is unchanged', async () => {
    const service = createTaskService();
    const id = await service.create({ run: () => 42, autoStart: true });
    await service.wait(id);
    const first = service.get(id)!;
    expect(Object.isFrozen(first)).toBe(true);
    expect(service.get(id)).toBe(first);
    expect(service.list().tasks[0]).toBe(first);
    await service.dispose();
  });

  it('should build a new snapshot after any change it shows', async () => {
    const service = createTaskService();
    let context: TaskFunctionContext | undefined;
    let finish = (): void => {};
    const id = await service.create({
      run: (ctx) =>
        new Promise<string>((resolve) => {
          context = ctx;
          finish = () => resolve('done');
        }),
    });
    const notStarted = service.get(id)!;
    service.setName(id, 'renamed');
    const renamed = service.get(id)!;
    expect(renamed).not.toBe(notStarted);
    expect(renamed.name).toBe('renamed');

    service.start(id);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const running = service.get(id)!;
    expect(running.state).toBe('Running');
    context!.progress.percentComplete = 40;
    const progressed = service.get(id)!;
    expect(progressed).not.toBe(running);
    expect(progressed.progress.percentComplete).toBe(40);
    context!.output('hello');
    const printed = service.get(id)!;
    expect(printed).not.toBe(progressed);
    expect(printed.output.records).toBe(1);

    finish();
    const done = await service.wait(id);
    expect(done.state).toBe('Completed');
    expect(service.get(id)).toMatchObject({ state: 'Completed', result: 'done' });
    await service.dispose();
  });
});
