// Oracle for the tokenizer tests: encodes each input line (a JSON string) with the npm package
// gpt-3-encoder (an independent JavaScript GPT-2 BPE using the same encoder.json / vocab.bpe as
// shared/data/gpt2-bpe) and prints the ids of that line comma-separated, one output line per
// input line. Usage: node encode.js < strings.jsonl > ids.txt
// Run `npm ci` in tools/ first (scripts/test.sh does).
'use strict';
const fs = require('fs');
let encoder;
try {
  encoder = require('gpt-3-encoder');
} catch (e) {
  process.stderr.write('gpt-3-encoder is not installed: run `npm ci` in tools/ (' + e.message + ')\n');
  process.exit(3);
}
const input = fs.readFileSync(0, 'utf-8');
const lines = input.split('\n');
if (lines.length && lines[lines.length - 1] === '') lines.pop();
const out = [];
for (const line of lines) out.push(encoder.encode(JSON.parse(line)).join(','));
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
