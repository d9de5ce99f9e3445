/**
 * Text a client searches for is matched literally: `%`, `_` and the escape character itself lose their
 * LIKE meaning (PostgreSQL's default escape character is the backslash).
 */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}
