/**
 * The campaign form's checks: the API's own rules, run in the browser before sending, so an operator sees
 * the message the API would give (docs/console.md). Nothing is restated here:
 * - single-field rules: the route's TypeBox schema (src/api/schemas.ts) through Ajv with the server's
 *   options, worded by the server's validationReason;
 * - cross-field rules: src/domain (checkNodeRules, checkWindows, checkSmsPlaceholders, recall flows) and
 *   the TTS language table (src/media/languages.ts), the very functions the API calls.
 * What only the server can know (a voice file or seat group that is not yours, a taken name) is left to it.
 */
import { Ajv } from 'ajv';
import { SendTaskSchema } from '../../src/api/schemas.ts';
import { validationReason } from '../../src/api/validation-reason.ts';
import type { CalleeEntry } from '../../src/domain/callees.ts';
import { ApiError, invalid, ResultCode } from '../../src/domain/errors.ts';
import { checkFileName } from '../../src/domain/file-name.ts';
import { checkRecallFlow, effectiveRoundSettings } from '../../src/domain/recall-flow.ts';
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
} from '../../src/domain/task-settings.ts';
import { resolveVoice } from '../../src/media/languages.ts';
import { MediaInputError } from '../../src/media/types.ts';

// The options the API's Fastify instance gives Ajv (src/api/server.ts).
const ajv = new Ajv({
  coerceTypes: true,
  useDefaults: false,
  removeAdditional: false,
  allErrors: false,
  strict: false,
});
const validateSend = ajv.compile(SendTaskSchema);

function voiceRules(settings: Partial<NodeSettings>, body: Record<string, unknown>, prefix: string): void {
  if (settings.source === 2) {
    checkFileName(`${prefix}uploadName`, settings.uploadName ?? '');
    if (body.baseFile === undefined) throw invalid(`${prefix}baseFile`, 'required when source=2');
  } else if (settings.source === 3) {
    try {
      resolveVoice({
        lan: settings.lan ?? '',
        ...(settings.accent !== undefined ? { accent: settings.accent } : {}),
        ...(settings.ssmlGender !== undefined ? { gender: settings.ssmlGender } : {}),
        speakingRate: settings.speakingRate ?? 1,
      });
    } catch (error) {
      if (error instanceof MediaInputError) throw invalid(`${prefix}${error.field}`, error.message);
      throw error;
    }
  }
}

function checkOrder(body: Record<string, unknown>, callees: readonly CalleeEntry[]): void {
  // Ajv needs one entry to check the list's shape; 200,000 were checked row by row in the worker.
  const shape = { ...body, numberInfoList: (body.numberInfoList as unknown[] | undefined)?.slice(0, 1) };
  if (!validateSend(shape))
    throw new ApiError(ResultCode.parameter, validationReason(validateSend.errors![0]!));
  const given = pick<TaskSettings>(body as Partial<TaskSettings>, [...nodeFields, ...taskOnlyFields]);
  const settings = { ...settingDefaults, allowSendTime: [], ...given } as TaskSettings;
  if (settings.source === undefined) throw invalid('source', 'is required');
  voiceRules(settings, body, '');
  checkNodeRules(settings);
  checkWindows(settings.allowSendTime);
  checkSmsPlaceholders(settings, callees);
  const flow = body.recallFlow as
    | {
        recallInterval: number;
        recallNum: number;
        recallType: 0 | 1;
        nodeList?: Array<Partial<NodeSettings>>;
      }
    | undefined;
  if (!flow) return;
  checkRecallFlow(flow);
  flow.nodeList?.forEach((node, index) => {
    const prefix = `recallFlow.nodeList[${index}].`;
    const own = pick<NodeSettings>(node, nodeFields);
    voiceRules(own, node as Record<string, unknown>, prefix);
    const effective = effectiveRoundSettings(settings, own);
    checkNodeRules(effective, prefix);
    checkSmsPlaceholders(effective, callees, prefix);
  });
}

/** The first rule the body breaks, in the API's words ("field: rule"), or null when it would be accepted. */
export function firstProblem(body: Record<string, unknown>, callees: readonly CalleeEntry[]): string | null {
  try {
    checkOrder(body, callees);
    return null;
  } catch (error) {
    if (error instanceof ApiError) return error.reason;
    throw error;
  }
}
