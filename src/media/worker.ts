import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { clearingDeadline, type Settle } from '../deadline.ts';

/**
 * Starts a worker thread on a sibling module of this directory (`name` without extension). Ringcast runs
 * TypeScript through tsx, whose loader a worker does not inherit; the bootstrap registers it in the worker
 * before importing a `.ts` entry (also under vitest). A compiled `.js` build imports directly.
 */
export function startWorker(name: string, workerData?: unknown): Worker {
  const typescript = import.meta.url.endsWith('.ts');
  const entry = new URL(`./${name}${typescript ? '.ts' : '.js'}`, import.meta.url).href;
  let bootstrap = `import(${JSON.stringify(entry)})`;
  if (typescript) {
    const require = createRequire(import.meta.url);
    const tsxApi = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return ${bootstrap}; })`;
  }
  return new Worker(`${bootstrap};`, { eval: true, workerData });
}

type JobReply<R> = { id: number; result: R };
type Job<R> = Settle<R>;

/**
 * One long-lived worker serving request/response jobs (start-up through tsx costs ~0.3-1 s, too much per
 * job). Referenced only while jobs are pending; a job over its time limit kills the worker (and rejects
 * the jobs it held), and the next job starts a fresh one.
 */
export class JobWorker<Q, R> {
  private current: { worker: Worker; pending: Map<number, Job<R>> } | undefined;
  private nextId = 1;

  constructor(private readonly name: string) {}

  private start() {
    const worker = startWorker(this.name);
    worker.unref();
    // Jobs belong to their worker: a killed worker fails only its own jobs, never its successor's.
    const pending = new Map<number, Job<R>>();
    const self = { worker, pending };
    const failAll = (error: Error) => {
      if (this.current === self) this.current = undefined;
      for (const job of pending.values()) job.reject(error);
      pending.clear();
    };
    worker.on('message', (reply: JobReply<R>) => {
      const job = pending.get(reply.id);
      if (!job) return;
      pending.delete(reply.id);
      if (pending.size === 0) worker.unref();
      job.resolve(reply.result);
    });
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`${this.name} exited with code ${code}`)));
    this.current = self;
    return self;
  }

  run(request: Q, timeoutMs: number, transfer: ArrayBuffer[] = []): Promise<R | 'timeout'> {
    const self = this.current ?? this.start();
    const id = this.nextId++;
    return new Promise<R | 'timeout'>((resolve, reject) => {
      const timer = setTimeout(() => {
        self.pending.delete(id);
        resolve('timeout');
        if (this.current === self) this.current = undefined;
        void self.worker.terminate();
      }, timeoutMs);
      self.pending.set(
        id,
        clearingDeadline(() => timer, { resolve, reject }),
      );
      self.worker.ref();
      self.worker.postMessage({ id, request }, transfer);
    });
  }

  async close(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    await current?.worker.terminate();
  }
}
