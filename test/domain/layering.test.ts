/** src/domain is pure logic: it never imports from another src folder (issue 14, issue 19). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DOMAIN = join(import.meta.dirname, '../../src/domain');

describe('layering', () => {
  it('src/domain imports nothing from another src folder', () => {
    const leaks: string[] = [];
    for (const file of readdirSync(DOMAIN, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts')) continue;
      const text = readFileSync(join(DOMAIN, file), 'utf8');
      for (const m of text.matchAll(/(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/g)) {
        if (m[1]!.startsWith('../')) leaks.push(`${file}: ${m[1]}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
