/**
 * Turns task, resend, update and recall-flow request bodies into stored settings: defaults, merging,
 * cross-field rules, ownership of referenced voice files and seat groups, and source=2 uploads.
 */
import type { Queryable } from '../db/db.ts';
import type { AccountRow } from '../db/queries/accounts.ts';
import { appHasSeatGroup, ownsVoiceFile } from '../db/queries/ownership.ts';
import { ApiError, invalid, ResultCode } from '../domain/errors.ts';
import { parseId } from '../domain/ids.ts';
import { checkRecallFlow, effectiveRoundSettings, type RecallFlowInput } from '../domain/recall-flow.ts';
import {
  checkNodeRules,
  checkSmsPlaceholders,
  checkWindows,
  type NodeSettings,
  nodeFields,
  pick,
  settingDefaults,
  type TaskSettings,
  taskOnlyFields,
  voiceFields,
} from '../domain/task-settings.ts';
import type { ConvertedUpload } from '../media/types.ts';
import type { ApiContext } from './context.ts';
import type { NodeInput, RecallFlowBody } from './schemas.ts';
import { checkFileName, convertUpload, storeVoiceFile } from './voice-file-store.ts';

/** A source=2 upload converted during validation and stored inside the request's transaction. */
interface PendingUpload {
  target: Partial<NodeSettings>;
  fileName: string;
  field: string;
  converted: ConvertedUpload;
}

/** -21 (spec §1: "voice file not yours"): the same answer for another account's, a deleted and a missing file. */
function notYourFile(field: string): ApiError {
  return new ApiError(ResultCode.dataValidation, `${field}: not a voice file of this account`);
}

export class SettingsBuilder {
  readonly uploads: PendingUpload[] = [];
  /** Existing voice files the settings refer to, re-checked and locked in the request's transaction. */
  private readonly fileRefs: Array<{ fileId: number; field: string }> = [];

  constructor(
    private readonly ctx: ApiContext,
    private readonly account: AccountRow,
    private readonly appId: number,
  ) {}

  /** Task settings: `base` (stored settings, for update/resend) or the defaults, with `body` on top. */
  async task(body: Record<string, unknown>, base?: TaskSettings): Promise<TaskSettings> {
    const given = pick<TaskSettings>(body as Partial<TaskSettings>, [...nodeFields, ...taskOnlyFields]);
    const start: TaskSettings = base
      ? { ...base }
      : ({ ...settingDefaults, allowSendTime: [] } as unknown as TaskSettings);
    if (given.source !== undefined) for (const field of voiceFields) delete start[field];
    const settings = { ...start, ...given } as TaskSettings;
    if (!base && settings.source === undefined) throw invalid('source', 'is required');
    await this.prepareVoice(settings, body, '');
    checkNodeRules(settings);
    checkWindows(settings.allowSendTime);
    await this.checkSeatGroup(settings, '');
    this.checkSmsRoute(settings, '');
    return settings;
  }

  /**
   * A recall flow's nodes, each checked as the round will run it (its own fields over the task's);
   * `callees` as the SMS placeholder checks read them (which texts each gives), when the task has a list.
   */
  async flow(
    flowBody: RecallFlowBody,
    original: TaskSettings,
    callees: ReadonlyArray<{ info: Record<string, string> | null }> | null,
  ) {
    const flow: RecallFlowInput = {
      recallInterval: flowBody.recallInterval,
      recallNum: flowBody.recallNum,
      recallType: flowBody.recallType as 0 | 1,
    };
    checkRecallFlow({
      ...flow,
      ...(flowBody.nodeList ? { nodeList: flowBody.nodeList as Partial<NodeSettings>[] } : {}),
    });
    if (flowBody.nodeList) {
      flow.nodeList = [];
      for (const [index, node] of flowBody.nodeList.entries()) {
        const prefix = `recallFlow.nodeList[${index}].`;
        const given = pick<NodeSettings>(node as Partial<NodeSettings>, nodeFields);
        await this.prepareVoice(given, node, prefix);
        const effective = effectiveRoundSettings(original, given);
        checkNodeRules(effective, prefix);
        await this.checkSeatGroup(effective, prefix);
        this.checkSmsRoute(given, prefix);
        if (callees) checkSmsPlaceholders(effective, callees, prefix);
        flow.nodeList.push(given);
      }
    }
    return flow;
  }

  private async prepareVoice(
    settings: Partial<NodeSettings>,
    body: NodeInput | Record<string, unknown>,
    prefix: string,
  ) {
    const raw = body as NodeInput;
    const usesStoredFile =
      settings.source === 1 || (settings.source === 2 && raw.baseFile === undefined && settings.voiceFileId);
    if (usesStoredFile && settings.voiceFileId !== undefined) {
      // source=1, or source=2 naming an earlier upload (an update or resend keeping it): the file must be
      // this account's and not deleted, now and again when the request's transaction commits.
      const field = `${prefix}voiceFileId`;
      const fileId = parseId(String(settings.voiceFileId));
      if (fileId === undefined) throw notYourFile(field);
      if (!(await ownsVoiceFile(this.ctx.db, { accountId: this.account.id, fileId })))
        throw notYourFile(field);
      this.fileRefs.push({ fileId, field });
    } else if (settings.source === 2 && raw.baseFile !== undefined) {
      const fileName = settings.uploadName ?? '';
      checkFileName(`${prefix}uploadName`, fileName);
      const converted = await convertUpload(this.ctx.media, {
        field: `${prefix}baseFile`,
        fileName,
        base64: raw.baseFile,
        accountId: this.account.id,
      });
      // Stored in the request's transaction; the id is filled in then. Until then it only has to be present.
      settings.voiceFileId = 'pending';
      this.uploads.push({ target: settings, fileName, converted, field: `${prefix}uploadName` });
    } else if (settings.source === 2 && raw.baseFile === undefined && !settings.voiceFileId) {
      throw invalid(`${prefix}baseFile`, 'required when source=2');
    } else if (settings.source === 3) {
      // Validated now (an unknown lan or accent is -22 at once); stored as given, resolved when rendering.
      this.ctx.media.resolveVoice({
        lan: settings.lan ?? '',
        ...(settings.accent !== undefined ? { accent: settings.accent } : {}),
        ...(settings.ssmlGender !== undefined ? { gender: settings.ssmlGender } : {}),
        speakingRate: settings.speakingRate ?? 1,
      });
    }
  }

  /** `smsAppId` names an SMS route the operator configured (SMS_ROUTES); the SMS is sent through it. */
  private checkSmsRoute(settings: Partial<NodeSettings>, prefix: string) {
    if (settings.smsAppId === undefined) return;
    const routes = this.ctx.smsRoutes ?? [];
    if (!routes.includes(settings.smsAppId)) {
      throw invalid(
        `${prefix}smsAppId`,
        routes.length === 0
          ? 'no SMS routes are configured (SMS_ROUTES); leave it out to use the default route'
          : `must be one of the configured SMS routes: ${routes.join(', ')}`,
      );
    }
  }

  private async checkSeatGroup(settings: Partial<NodeSettings>, prefix: string) {
    if (settings.sipGroupId === undefined) return;
    // Checked whenever a group is named (not only with toSeat=1): a stored id must never be another app's.
    if (!(await appHasSeatGroup(this.ctx.db, { appId: this.appId, groupId: settings.sipGroupId })))
      throw new ApiError(ResultCode.dataValidation, `${prefix}sipGroupId: not a seat group of this app`);
  }

  /**
   * Call inside the request's transaction before the settings are written: re-checks and share-locks the
   * voice files the settings use (a file deleted meanwhile is refused; a delete waits for this
   * transaction and then finds the file in use), and stores this request's uploads.
   */
  async storeUploads(tx: Queryable): Promise<void> {
    for (const ref of this.fileRefs) {
      if (!(await ownsVoiceFile(tx, { accountId: this.account.id, fileId: ref.fileId, lock: true })))
        throw notYourFile(ref.field);
    }
    for (const upload of this.uploads) {
      upload.target.voiceFileId = await storeVoiceFile(tx, {
        accountId: this.account.id,
        fileName: upload.fileName,
        converted: upload.converted,
        now: this.ctx.clock.now(),
        field: upload.field,
      });
    }
  }
}

export { maxNumbersPerTask, readCallees } from '../domain/callees.ts';
