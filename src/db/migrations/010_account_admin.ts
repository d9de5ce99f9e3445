/**
 * Account administration (issue 17): a deleted account keeps its records (audit, billing) but loses its
 * keys and every right; `deleted_at` marks it so listings can leave it out.
 */
export const up = `
ALTER TABLE accounts ADD COLUMN deleted_at timestamptz;
`;
