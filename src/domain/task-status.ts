/**
 * Task status (spec §3), stored as these numbers and changed only by guarded UPDATEs
 * (`WHERE status = ANY(from)`), so every transition is idempotent across processes.
 *
 *   0 waiting ──start──► 1 calling ──all settled──► 2 finished
 *      │  ▲                 │  ▲
 *      ▼  │ resume          ▼  │ resume
 *      5 paused ◄──pause────┘  │
 *   0/1/5 ──cancel──► 4 cancelled          (3 submission failed and 6 submitting are reserved)
 */
export const TaskStatus = Object.freeze({
  waiting: 0,
  calling: 1,
  finished: 2,
  submissionFailed: 3,
  cancelled: 4,
  paused: 5,
  submitting: 6,
} as const);

export type TaskStatusValue = (typeof TaskStatus)[keyof typeof TaskStatus];

export const TaskTransition = Object.freeze({
  start: { from: [TaskStatus.waiting], to: TaskStatus.calling },
  pause: { from: [TaskStatus.waiting, TaskStatus.calling], to: TaskStatus.paused },
  /** Resume goes back to waiting; the scheduler starts it again when its sendTime has come. */
  resume: { from: [TaskStatus.paused], to: TaskStatus.waiting },
  cancel: {
    from: [TaskStatus.waiting, TaskStatus.calling, TaskStatus.paused, TaskStatus.submitting],
    to: TaskStatus.cancelled,
  },
  finish: { from: [TaskStatus.calling], to: TaskStatus.finished },
} as const);

/** Settings may change only while the task has not started or is paused (spec §3 update). */
export const editableStatuses: readonly number[] = [TaskStatus.waiting, TaskStatus.paused];

/** A task that will not dial any more: its recall flow may move on once its last calls settle. */
export const endedStatuses: readonly number[] = [TaskStatus.finished, TaskStatus.cancelled];

/** A task that may still dial: not started, calling, paused, or being submitted. */
export const openStatuses: readonly number[] = [
  TaskStatus.waiting,
  TaskStatus.calling,
  TaskStatus.paused,
  TaskStatus.submitting,
];
