/**
 * Indexes for the console's record views and CSV export (issue 18): settled records of one task, and of
 * one account, in voiceId order. Both are partial on `state = 'done'`, so a list's COPY (rows are 'due')
 * writes nothing to them; a settle adds one entry to each. With them a page of 100 records (keyset on
 * voiceId, or OFFSET) reads only the rows it returns plus what it skips in the index.
 */
export const up = `
CREATE INDEX calls_task_done ON calls (task_id, id) WHERE state = 'done';
CREATE INDEX calls_account_done ON calls (account_id, id) WHERE state = 'done';
`;
