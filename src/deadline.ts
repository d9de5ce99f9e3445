/** Waits that a timer may end instead: the promise's settle functions, each cancelling that timer first. */

export interface Settle<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/**
 * `resolve` and `reject` that clear the wait's deadline before settling. `timer` is read when settling,
 * so the deadline may be set after this is built (its callback can refer to what this returns).
 */
export function clearingDeadline<T>(
  timer: () => ReturnType<typeof setTimeout>,
  settle: Settle<T>,
): Settle<T> {
  return {
    resolve: (value) => {
      clearTimeout(timer());
      settle.resolve(value);
    },
    reject: (error) => {
      clearTimeout(timer());
      settle.reject(error);
    },
  };
}
