/**
 * Seeded randomness for tests that kill or delay at random moments: the seed is printed, and TEST_SEED=<n>
 * replays the same run. mulberry32 is a few lines and all a test needs (no library offers less).
 */
export function seededRandom(label: string): () => number {
  const seed = process.env.TEST_SEED ? Number(process.env.TEST_SEED) : Math.floor(Math.random() * 2 ** 32);
  console.info(`${label}: TEST_SEED=${seed} (set it to replay this run)`);
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
