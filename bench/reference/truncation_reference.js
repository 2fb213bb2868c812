// Hugging Face tokenizers' truncation of testdata/xlmr-base/tokenizer.json, as the reference for
// XlmRobertaTokenizer's truncation (tests: TruncationParityTest). HF tokenizers' Node binding, the same
// Rust crate as the Python package that made the other tokenizer references:
//   npm install tokenizers@0.23.2 && node bench/reference/truncation_reference.js > testdata/tokenizer/truncation.fast.jsonl
// (run from the repository root, NODE_PATH pointing at the node_modules folder if it is elsewhere)
const fs = require('fs');
const { Tokenizer } = require('tokenizers');

const tok = Tokenizer.fromFile('testdata/xlmr-base/tokenizer.json');
const singles = fs.readFileSync('testdata/tokenizer/tok_public.txt', 'utf8').split('\n').filter((l, i) => l.length > 0 && i % 30 === 0);
const pairs = fs.readFileSync('testdata/tokenizer/pairs_public.fast.jsonl', 'utf8').split('\n').filter(l => l.length > 0)
  .map(l => JSON.parse(l)).filter((p, i) => i % 10 === 0);

function view(e) {
  return { ids: e.getIds(), tokens: e.getTokens(), type_ids: e.getTypeIds(), special_tokens_mask: e.getSpecialTokensMask(),
    sequence_ids: e.getSequenceIds().map(s => s === null || s === undefined ? -1 : s) };
}

async function one(text, pair, maxLength, strategy, direction, stride) {
  tok.setTruncation(maxLength, { strategy, direction: direction.toLowerCase(), stride });
  const c = { text, max_length: maxLength, strategy, direction, stride };
  if (pair !== null) c.text_pair = pair;
  try {
    const e = await tok.encode(text, pair);
    Object.assign(c, view(e));
    c.overflowing = e.getOverflowing().map(view);
  } catch (err) {
    c.error = String(err.message || err);
  }
  return c;
}

(async () => {
  const out = [];
  for (const t of singles) {
    for (const max of [3, 8, 17]) {
      for (const dir of ['Right', 'Left']) {
        out.push(await one(t, null, max, 'LongestFirst', dir, 0));
      }
    }
    for (const dir of ['Right', 'Left']) out.push(await one(t, null, 9, 'LongestFirst', dir, 2));
  }
  for (const p of pairs) {
    for (const strategy of ['LongestFirst', 'OnlyFirst', 'OnlySecond']) {
      for (const max of [12, 21]) {
        for (const dir of ['Right', 'Left']) {
          out.push(await one(p.text, p.text_pair, max, strategy, dir, 0));
        }
      }
    }
    for (const dir of ['Right', 'Left']) out.push(await one(p.text, p.text_pair, 15, 'LongestFirst', dir, 1));
  }
  process.stdout.write(out.map(c => JSON.stringify(c)).join('\n') + '\n');
})();
