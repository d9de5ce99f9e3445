/** `${text1}`..`${text10}` placeholders in TTS text and SMS templates (spec §2, §4). */
const placeholder = /\$\{(text(?:10|[1-9]))\}/g;

export type CalleeInfo = Readonly<Record<string, string>> | null;

export function placeholdersIn(template: string): string[] {
  return [...new Set([...template.matchAll(placeholder)].map((match) => match[1]!))];
}

/** Fills the callee's own values; a placeholder the callee has no value for becomes empty. */
export function fillTemplate(template: string, info: CalleeInfo): string {
  return template.replace(placeholder, (_, name: string) => info?.[name] ?? '');
}
