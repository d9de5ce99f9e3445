/**
 * The one catalogue of API result codes (spec §1). Everything thrown inside a request is normalised to
 * an ApiError once, in src/api/envelope.ts; nothing else decides which code a failure gets.
 */
export const ResultCode = Object.freeze({
  success: '0',
  authentication: '-1',
  ipNotAllowed: '-2',
  insufficientBalance: '-10',
  timestampExpired: '-16',
  systemException: '-18',
  alreadyExists: '-20',
  dataValidation: '-21',
  parameter: '-22',
  limitReached: '-23',
  notFound: '-24',
  nothingToRecall: '-34',
  stateConflict: '-41',
} as const);

export type ResultCodeValue = (typeof ResultCode)[keyof typeof ResultCode];

export class ApiError extends Error {
  constructor(
    readonly code: ResultCodeValue,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'ApiError';
  }
}

/** -22 naming the field and the rule it broke, e.g. invalid('taskName', 'must be 2-64 characters'). */
export function invalid(field: string, rule: string): ApiError {
  return new ApiError(ResultCode.parameter, `${field}: ${rule}`);
}

export function notFound(what: string): ApiError {
  return new ApiError(ResultCode.notFound, `${what} does not exist`);
}

export function stateConflict(reason: string): ApiError {
  return new ApiError(ResultCode.stateConflict, reason);
}
