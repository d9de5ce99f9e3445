import { describe, expect, it } from 'vitest';
import { findExecutable, Limiter, runProcess } from '../../src/media/process.ts';

describe('child process helpers', () => {
  it('kills a program that outlives its timeout', async () => {
    const started = Date.now();
    const result = await runProcess(findExecutable('sh')!, ['-c', 'sleep 5'], { timeoutMs: 200 });
    expect(result.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('passes stdin, collects stdout and caps it', async () => {
    const cat = findExecutable('cat')!;
    expect((await runProcess(cat, [], { input: 'héllo', timeoutMs: 5000 })).stdout.toString()).toBe('héllo');
    const capped = await runProcess(cat, [], {
      input: Buffer.alloc(1 << 20),
      timeoutMs: 5000,
      maxStdout: 1024,
    });
    expect(capped.stdout.length).toBeLessThanOrEqual(1024 * 64);
    expect(capped.code).not.toBe(0);
  });

  it('Limiter never runs more than its maximum at once', async () => {
    const limiter = new Limiter(3);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        limiter.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((resolve) => setTimeout(resolve, 5));
          active--;
        }),
      ),
    );
    expect(peak).toBe(3);
  });
});
