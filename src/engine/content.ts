/**
 * Turns a task's voice content into the audio a callee hears: the stored voice file (sources 1 and 2)
 * or text-to-speech with the callee's own ${textN} values (source 3).
 */
import type { Db } from '../db/db.ts';
import type { VoiceContent } from '../domain/task-settings.ts';
import type { CalleeInfo } from '../domain/template.ts';
import { fillTemplate } from '../domain/template.ts';
import type { MediaService, PreparedAudio } from '../media/types.ts';

export class ContentPreparer {
  private readonly files = new Map<string, Promise<PreparedAudio>>();

  constructor(
    private readonly db: Db,
    private readonly media: MediaService,
  ) {}

  prepare(content: VoiceContent, info: CalleeInfo): Promise<PreparedAudio> {
    if (content.source === 3) {
      return this.media.renderTts({
        text: fillTemplate(content.text ?? '', info),
        lan: content.lan ?? 'en',
        ...(content.accent !== undefined ? { accent: content.accent } : {}),
        ...(content.ssmlGender !== undefined ? { gender: content.ssmlGender } : {}),
        speakingRate: content.speakingRate ?? 1,
      });
    }
    const fileId = content.voiceFileId ?? '';
    let cached = this.files.get(fileId);
    if (!cached) {
      cached = this.loadFile(fileId);
      // Failed loads are not cached; successful ones are kept (files are immutable once stored).
      cached.catch(() => this.files.delete(fileId));
      this.files.set(fileId, cached);
      if (this.files.size > 200) this.files.delete(this.files.keys().next().value!);
    }
    return cached;
  }

  private async loadFile(fileId: string): Promise<PreparedAudio> {
    const [row] = await this.db.query<{ audio: Uint8Array }>('SELECT audio FROM voice_files WHERE id = $1', [
      Number(fileId),
    ]);
    if (!row) throw new Error(`voice file ${fileId} is missing`);
    return this.media.loadStored(`file:${fileId}`, Buffer.from(row.audio));
  }
}
