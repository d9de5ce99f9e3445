/**
 * Render cache: in-memory LRU bounded by total samples, plus an optional directory of 8 kHz PCM16 WAVs
 * keyed by the request hash, so a restart does not re-render every prompt of a running campaign.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeTelephoneWav, writeWav } from './audio.ts';
import type { PreparedAudio } from './types.ts';

export class AudioCache {
  private readonly entries = new Map<string, PreparedAudio>();
  private totalSamples = 0;

  constructor(
    /** 8,000 samples = 16 KB; the default keeps ~64 MB (about 70 minutes of audio). */
    private readonly maxSamples = 32 * 1024 * 1024,
    private readonly dir?: string,
  ) {}

  get(key: string): PreparedAudio | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(audio: PreparedAudio): void {
    if (this.entries.has(audio.key)) return;
    this.entries.set(audio.key, audio);
    this.totalSamples += audio.samples.length;
    for (const [key, old] of this.entries) {
      if (this.totalSamples <= this.maxSamples || this.entries.size === 1) break;
      this.entries.delete(key);
      this.totalSamples -= old.samples.length;
    }
  }

  async readDisk(key: string): Promise<PreparedAudio | undefined> {
    if (!this.dir) return undefined;
    let data: Buffer;
    try {
      data = await readFile(join(this.dir, `${key}.wav`));
    } catch {
      return undefined;
    }
    try {
      const samples = decodeTelephoneWav(data);
      return { key, sampleRate: 8000, samples, durationMs: Math.round(samples.length / 8) };
    } catch {
      return undefined; // a damaged cache file is simply re-rendered (and overwritten)
    }
  }

  async writeDisk(audio: PreparedAudio): Promise<void> {
    if (!this.dir) return;
    await mkdir(this.dir, { recursive: true });
    const final = join(this.dir, `${audio.key}.wav`);
    // Write-then-rename so a concurrent reader or a crash never sees half a file.
    const temp = `${final}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temp, writeWav(audio.samples, 'pcm16'));
    await rename(temp, final);
  }

  clear(): void {
    this.entries.clear();
    this.totalSamples = 0;
  }
}
