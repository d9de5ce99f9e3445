/**
 * How a schema violation reads in a -22 reason: `field: rule`, e.g. `numberInfoList[3].text1: must be
 * string`. Used by the API's error handler and, on the same schemas, by the console's form checks, so both
 * say the same thing.
 */
export interface AjvIssue {
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** '/numberInfoList/3/calleeNumber' → 'numberInfoList[3].calleeNumber' */
function fieldOf(issue: AjvIssue): string {
  const parts = issue.instancePath.split('/').filter(Boolean);
  const missing = issue.params.missingProperty;
  if (typeof missing === 'string') parts.push(missing);
  let field = '';
  for (const part of parts) field += /^\d+$/.test(part) ? `[${part}]` : field ? `.${part}` : part;
  return field || 'body';
}

function ruleOf(issue: AjvIssue): string {
  if (typeof issue.params.missingProperty === 'string') return 'is required';
  if (issue.params.allowedValues) return `must be one of ${JSON.stringify(issue.params.allowedValues)}`;
  return issue.message ?? 'is invalid';
}

export function validationReason(issue: AjvIssue): string {
  return `${fieldOf(issue)}: ${ruleOf(issue)}`;
}
