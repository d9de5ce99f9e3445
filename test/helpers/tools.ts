import { execFileSync } from 'node:child_process';

/**
 * Whether an external tool (sipp, chromium, espeak-ng, ffmpeg…) is on PATH. Tests that need one use
 * `describe.skipIf(!hasTool('sipp'))` and say so; under CI=true a missing tool is an error instead,
 * because CI installs every tool the suite uses.
 */
export function hasTool(command: string): boolean {
  let found = true;
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
  } catch {
    found = false;
  }
  if (!found) {
    if (process.env.CI === 'true')
      throw new Error(`${command} is required under CI=true but is not installed`);
    console.warn(`[skip] ${command} is not installed: tests that need it are skipped`);
  }
  return found;
}
