/**
 * One 20 ms frame clock for many RTP streams, staggered: the period is split into `slots` sub-ticks and
 * each stream is placed in the emptiest slot, so a driver with 1,000 streams sends ~250 packets every 5 ms
 * rather than 1,000 in one burst (a burst overflowed the far end's socket buffer, and a long synchronous
 * burst is what made ticks late). Each stream still gets exactly one call per 20 ms.
 *
 * Sub-ticks are scheduled against absolute times (start + n·period/slots), so timer lateness never
 * accumulates into drift; if the event loop stalls, the missed sub-ticks run back to back (bounded) so
 * each stream still sends one packet per 20 ms of wall time. Every sub-tick's lateness is recorded (a
 * "late tick" is one run more than a whole frame, 20 ms, after it was due) for benchmarks and metrics.
 */
import { performance } from 'node:perf_hooks';

export const FRAME_MS = 20;
const MAX_CATCH_UP_FRAMES = 10;
/** Lateness histogram: 0.25 ms buckets up to 1 s (the last bucket takes anything later). */
const BUCKET_MS = 0.25;
const BUCKETS = 4000;

export type FrameListener = () => void;

export interface FrameClockStats {
  ticks: number;
  /** Sub-ticks run more than FRAME_MS after they were due. */
  lateTicks: number;
  /** 99th percentile of sub-tick lateness, ms. */
  p99LateMs: number;
  maxLateMs: number;
  /** Share of wall time the clock's thread (event loop) was busy since the last reset, % (where late ticks come from). */
  loopBusyPct: number;
}

export class FrameClock {
  private readonly slotsOf: Array<Set<FrameListener>>;
  private readonly slotOf = new Map<FrameListener, number>();
  private timer: NodeJS.Timeout | undefined;
  private start = 0;
  private tick = 0;
  private readonly subMs: number;
  private histogram = new Uint32Array(BUCKETS);
  private counts = { ticks: 0, late: 0 };
  private loopSince = performance.eventLoopUtilization();
  /** Largest observed lateness of a sub-tick, ms (for benchmarks). */
  maxLateMs = 0;
  /** Sub-ticks dropped after a stall longer than the catch-up budget (metrics: RTP sent late). */
  droppedTicks = 0;

  /**
   * @param slots sub-ticks per 20 ms frame (1 = every stream in one burst).
   * @param phaseMs offset of this clock's grid, so several clocks (one per media worker) interleave.
   */
  constructor(
    readonly slots = 4,
    private readonly phaseMs = 0,
  ) {
    if (!Number.isInteger(slots) || slots < 1 || slots > 20) throw new Error(`bad slot count ${slots}`);
    this.slotsOf = Array.from({ length: slots }, () => new Set<FrameListener>());
    this.subMs = FRAME_MS / slots;
  }

  get size(): number {
    return this.slotOf.size;
  }

  add(listener: FrameListener): void {
    if (this.slotOf.has(listener)) return;
    let best = 0;
    for (let i = 1; i < this.slots; i++) if (this.slotsOf[i]!.size < this.slotsOf[best]!.size) best = i;
    this.slotsOf[best]!.add(listener);
    this.slotOf.set(listener, best);
    if (!this.timer) {
      // Align to the shared grid (time origin + phase), so clocks in different workers stay interleaved.
      const now = performance.now();
      this.start = Math.floor((now - this.phaseMs) / FRAME_MS) * FRAME_MS + this.phaseMs;
      this.tick = Math.floor((now - this.start) / this.subMs);
      this.schedule();
    }
  }

  remove(listener: FrameListener): void {
    const slot = this.slotOf.get(listener);
    if (slot === undefined) return;
    this.slotOf.delete(listener);
    this.slotsOf[slot]!.delete(listener);
    if (!this.slotOf.size && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  stats(): FrameClockStats {
    const { ticks, late } = this.counts;
    let p99 = 0;
    if (ticks > 0) {
      const target = Math.ceil(ticks * 0.99);
      let seen = 0;
      for (let i = 0; i < BUCKETS; i++) {
        seen += this.histogram[i]!;
        if (seen >= target) {
          p99 = (i + 1) * BUCKET_MS;
          break;
        }
      }
    }
    const busy = performance.eventLoopUtilization(this.loopSince).utilization;
    return { ticks, lateTicks: late, p99LateMs: p99, maxLateMs: this.maxLateMs, loopBusyPct: 100 * busy };
  }

  resetStats(): void {
    this.histogram = new Uint32Array(BUCKETS);
    this.counts = { ticks: 0, late: 0 };
    this.maxLateMs = 0;
    this.loopSince = performance.eventLoopUtilization();
  }

  private schedule(): void {
    const due = this.start + (this.tick + 1) * this.subMs;
    this.timer = setTimeout(() => this.run(), Math.max(0, due - performance.now()));
  }

  private run(): void {
    const now = performance.now();
    let due = Math.floor((now - this.start) / this.subMs);
    const maxBacklog = MAX_CATCH_UP_FRAMES * this.slots;
    if (due - this.tick > maxBacklog) {
      // A stall longer than the catch-up budget: drop the backlog rather than burst it onto the network.
      this.droppedTicks += due - maxBacklog - this.tick;
      this.tick = due - maxBacklog;
    }
    due = Math.max(due, this.tick + 1);
    while (this.tick < due) {
      this.tick++;
      const late = Math.max(0, performance.now() - (this.start + this.tick * this.subMs));
      this.record(late);
      const slot = this.slotsOf[this.tick % this.slots]!;
      for (const l of [...slot]) {
        try {
          l();
        } catch {
          // One stream's failure must not stop the others.
        }
      }
    }
    if (this.slotOf.size) this.schedule();
    else this.timer = undefined;
  }

  private record(lateMs: number): void {
    this.counts.ticks++;
    if (lateMs > FRAME_MS) this.counts.late++;
    if (lateMs > this.maxLateMs) this.maxLateMs = lateMs;
    this.histogram[Math.min(BUCKETS - 1, Math.floor(lateMs / BUCKET_MS))]!++;
  }
}
