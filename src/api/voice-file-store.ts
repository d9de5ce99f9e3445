/** Storing converted voice files, shared by /voice/fileUpload and source=2 uploads inside task requests. */
import type { Queryable } from '../db/db.ts';
import { insertVoiceFile } from '../db/queries/voice-files.ts';
import { ApiError, invalid, ResultCode } from '../domain/errors.ts';
import type { ConvertedUpload, MediaService } from '../media/types.ts';
import { megabytes } from '../media/upload.ts';

/** The one upload size limit is the media layer's (UPLOAD_MAX_BYTES); checked here before decoding. */
export function decodeBase64Audio(field: string, base64: string, maxBytes: number): Buffer {
  const tooLarge = () =>
    new ApiError(ResultCode.limitReached, `${field}: must be at most ${megabytes(maxBytes)} MB of audio`);
  // Refused from its length alone: the text is not decoded (or even cleaned) when it is far too long.
  if (base64.length > (maxBytes / 3) * 4 * 1.1 + 1024) throw tooLarge();
  const cleaned = base64.replace(/^data:[^;]+;base64,/, '').replace(/\s+/g, '');
  if (cleaned.length === 0 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(cleaned))
    throw invalid(field, 'must be base64 audio');
  const data = Buffer.from(cleaned, 'base64');
  if (data.length > maxBytes) throw tooLarge();
  return data;
}

export { checkFileName } from '../domain/file-name.ts';

/** Converts an upload in the account's fair share of the converters (src/media/fair-queue.ts). */
export async function convertUpload(
  media: MediaService,
  args: { field: string; fileName: string; base64: string; accountId: number },
): Promise<ConvertedUpload> {
  const data = decodeBase64Audio(args.field, args.base64, media.uploadLimits.maxBytes);
  return media.convertUpload(data, args.fileName, String(args.accountId));
}

/** Stores a converted upload as the account's voice file; a name already taken is refused naming `field`. */
export async function storeVoiceFile(
  tx: Queryable,
  args: { accountId: number; fileName: string; converted: ConvertedUpload; now: number; field: string },
): Promise<string> {
  const id = await insertVoiceFile(tx, {
    accountId: args.accountId,
    fileName: args.fileName,
    format: args.converted.format,
    durationMs: args.converted.durationMs,
    audio: args.converted.stored,
    now: args.now,
  });
  if (id === null)
    throw new ApiError(ResultCode.alreadyExists, `${args.field}: a file with this name already exists`);
  return String(id);
}
