/**
 * Who ended each attempt (issue 19, [ours] `hangupBy` on records and in the status push): 'callee',
 * 'system' or 'carrier'. NULL on rows settled before this migration and on rows not yet settled.
 */
export const up = `
ALTER TABLE calls ADD COLUMN hangup_by text;
ALTER TABLE calls ADD CONSTRAINT calls_hangup_by_check
  CHECK (hangup_by IS NULL OR hangup_by IN ('callee', 'system', 'carrier'));
`;
