/**
 * Writes the fit options table (src/fitting/options.ts FIT_OPTIONS) into docs/fitting.md between
 * its `<!-- fit-options -->` markers. test/fitting/options.test.ts fails when the two differ.
 * Run: node --import tsx scripts/options-docs.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fitOptionsMarkdown } from '../src/fitting/options.js';

const path = new URL('../docs/fitting.md', import.meta.url);
const text = readFileSync(path, 'utf8');
const re = /(<!-- fit-options -->\n)[\s\S]*?(<!-- \/fit-options -->)/;
if (!re.test(text)) throw new Error('docs/fitting.md: no <!-- fit-options --> ... <!-- /fit-options --> section');
writeFileSync(path, text.replace(re, `$1${fitOptionsMarkdown()}\n$2`));
console.log('docs/fitting.md: fit options table written');
