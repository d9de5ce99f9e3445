/**
 * Clients send null or '' for "not given"; treat them as absent before validation. Text is refused when it
 * holds NUL or an unpaired UTF-16 surrogate (PostgreSQL cannot store either), in keys too: every JSON
 * body passes through here (the send route's callee lists one entry at a time, see send-body.ts).
 */
import { invalid } from '../domain/errors.ts';

const unpairedSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function cleanBody(value: unknown, path: string): unknown {
  if (typeof value === 'string') {
    if (value.includes('\u0000') || unpairedSurrogate.test(value))
      throw invalid(path || 'body', 'must not contain NUL characters or unpaired surrogates');
    return value;
  }
  if (Array.isArray(value)) return value.map((item, index) => cleanBody(item, `${path}[${index}]`));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const field = path ? `${path}.${key}` : key;
    if (key.includes('\u0000') || unpairedSurrogate.test(key) || key === '__proto__')
      throw invalid(path || 'body', 'has a field name that is not allowed');
    if (item === null || (item === '' && key !== 'displayNum')) continue;
    out[key] = cleanBody(item, field);
  }
  return out;
}
