/**
 * Ids cross the API as integers (and `voiceFileId` as a string of digits); every id column is int4, so an
 * id past 2^31-1 can never name a row and must be refused as bad input, not sent to the database.
 */
export const maxId = 2_147_483_647;

/** 1..2147483647 written in decimal without leading zeros (for string-typed ids such as voiceFileId). */
export const idStringPattern =
  '^(?:[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7])$';

export function isId(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= maxId;
}

/** The id a string names, or undefined when it is not one (so it cannot be any row). */
export function parseId(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-9]{1,10}$/.test(value)) return undefined;
  const id = Number(value);
  return isId(id) ? id : undefined;
}
