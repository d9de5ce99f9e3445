/**
 * Turns a task's voice content into the audio a callee hears: the stored voice file (sources 1 and 2)
 * or text-to-speech with the callee's own ${textN} values (source 3).
 *
 * A voice file is played only to calls of the account that owns it, and never once deleted: that is
 * checked for every call at the moment it is about to play (a cheap primary-key join), while the audio
 * itself is cached by file id (stored files never change).
 */
import type { Db } from '../db/db.ts';
import { callMayPlayFile, voiceFileAudio } from '../db/queries/ownership.ts';
import { parseId } from '../domain/ids.ts';
import type { VoiceContent } from '../domain/task-settings.ts';
import type { CalleeInfo } from '../domain/template.ts';
import { fillTemplate } from '../domain/template.ts';
import type { MediaService, PreparedAudio } from '../media/types.ts';

/** Whose call the audio is for; needed for stored voice files. */
export interface ContentOwner {
  callId: number;
}

export class ContentPreparer {
  private readonly files = new Map<number, Promise<PreparedAudio>>();

  constructor(
    private readonly db: Db,
    private readonly media: MediaService,
  ) {}

  async prepare(content: VoiceContent, info: CalleeInfo, owner?: ContentOwner): Promise<PreparedAudio> {
    if (content.source === 3) {
      return this.media.renderTts({
        text: fillTemplate(content.text ?? '', info),
        lan: content.lan ?? 'en',
        ...(content.accent !== undefined ? { accent: content.accent } : {}),
        ...(content.ssmlGender !== undefined ? { gender: content.ssmlGender } : {}),
        speakingRate: content.speakingRate ?? 1,
      });
    }
    const fileId = parseId(content.voiceFileId);
    if (fileId === undefined) throw new Error(`voice file '${content.voiceFileId}' is not a file id`);
    if (!owner || !(await callMayPlayFile(this.db, { callId: owner.callId, fileId })))
      throw new Error(
        `voice file ${fileId} may not be played to call ${owner?.callId} (deleted or not its account's)`,
      );
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

  private async loadFile(fileId: number): Promise<PreparedAudio> {
    const audio = await voiceFileAudio(this.db, fileId);
    if (!audio) throw new Error(`voice file ${fileId} is missing`);
    return this.media.loadStored(`file:${fileId}`, Buffer.from(audio));
  }
}
