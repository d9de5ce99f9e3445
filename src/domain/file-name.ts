/** The voice file name rule (spec §3 fileUpload, §2 uploadName), shared by the API and the console's form. */
import { invalid } from './errors.ts';

export function checkFileName(field: string, name: string): void {
  if (name.length < 5 || name.length > 32) throw invalid(field, 'must be 5-32 characters');
  if (!/\.(mp3|wav|m4a)$/i.test(name)) throw invalid(field, 'must end in .mp3, .wav or .m4a');
}
