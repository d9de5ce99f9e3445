/**
 * One shared 20 ms tick for every RTP stream of a driver. Ticks are scheduled against absolute times
 * (start + n·20 ms), so timer lateness never accumulates into drift; if the event loop stalls, the missed
 * ticks run back to back (bounded) so each stream still sends one packet per 20 ms of wall time.
 */
export const FRAME_MS = 20;
const MAX_CATCH_UP = 10;

export type FrameListener = () => void;

export class FrameClock {
  private readonly listeners = new Set<FrameListener>();
  private timer: NodeJS.Timeout | undefined;
  private start = 0;
  private tick = 0;
  /** Largest observed lateness of a tick, ms (for benchmarks). */
  maxLateMs = 0;
  /** Ticks that ran more than one frame late, and ticks dropped after a stall (metrics: RTP sent late). */
  lateTicks = 0;
  droppedTicks = 0;

  add(listener: FrameListener): void {
    this.listeners.add(listener);
    if (!this.timer) {
      this.start = performance.now();
      this.tick = 0;
      this.schedule();
    }
  }

  remove(listener: FrameListener): void {
    this.listeners.delete(listener);
    if (!this.listeners.size && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private schedule(): void {
    const due = this.start + (this.tick + 1) * FRAME_MS;
    this.timer = setTimeout(() => this.run(), Math.max(0, due - performance.now()));
  }

  private run(): void {
    const now = performance.now();
    let due = Math.floor((now - this.start) / FRAME_MS);
    if (due - this.tick > MAX_CATCH_UP) {
      // A stall longer than the catch-up budget: drop the backlog rather than burst it onto the network.
      this.droppedTicks += due - MAX_CATCH_UP - this.tick;
      this.tick = due - MAX_CATCH_UP;
    }
    due = Math.max(due, this.tick + 1);
    const lateMs = now - (this.start + (this.tick + 1) * FRAME_MS);
    this.maxLateMs = Math.max(this.maxLateMs, lateMs);
    if (lateMs > FRAME_MS) this.lateTicks += due - this.tick;
    while (this.tick < due) {
      this.tick++;
      for (const l of [...this.listeners]) {
        try {
          l();
        } catch {
          // One stream's failure must not stop the others.
        }
      }
    }
    if (this.listeners.size) this.schedule();
    else this.timer = undefined;
  }
}
