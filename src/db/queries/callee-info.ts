/** A callee's text1..text10, stored as ten columns of `calls` and read back as one object. */
export const calleeTextColumns = [
  'text1',
  'text2',
  'text3',
  'text4',
  'text5',
  'text6',
  'text7',
  'text8',
  'text9',
  'text10',
] as const;

/** SQL for the callee's texts as a JSON object without the absent ones (`{}` when none). */
export function calleeInfoSql(alias = 'calls'): string {
  const pairs = calleeTextColumns.map((column) => `'${column}', ${alias}.${column}`).join(', ');
  return `jsonb_strip_nulls(jsonb_build_object(${pairs}))`;
}

/** The text columns as a list, for INSERT … SELECT copies between tasks. */
export const calleeTextList = calleeTextColumns.join(', ');
