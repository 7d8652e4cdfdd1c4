// Bounded load generator for `moss serve` on loopback (issue: engine under load). For each
// concurrency level it runs that many streaming chats at once (one user per stream, since a user
// may have one running answer), then reports aggregate decode tokens/s (completion tokens of all
// streams / the wall time from the first streamed token to the last finished stream), per-stream
// rates and time to first token. It also measures time to first token of a follow-up turn whose
// conversation is cached in the engine vs a cold one that must be rebuilt from its history.
// The levels are measured in --rounds rounds (default 3), each round visiting every level once, and
// each level reports the median of its rounds: on a shared machine the memory bandwidth drifts
// between runs, and interleaved rounds with medians keep one slow moment from deciding a ratio.
// Usage: node bench/loadgen.mjs --url http://127.0.0.1:8080 --admin-key KEY [--streams 1,4,8]
//        [--max-tokens 64] [--rounds 3] [--prompt TEXT] [--json]
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const base = args.url || 'http://127.0.0.1:8080';
const adminKey = args['admin-key'];
const levels = (args.streams || '1,4,8').split(',').map(Number);
const maxTokens = Number(args['max-tokens'] || 64);
const rounds = Number(args.rounds || 3);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10) {
  console.error(`--rounds must be an integer in 1..10, not ${args.rounds}`);
  process.exit(2);
}
const prompt = args.prompt || 'Please write a long story about a robot who learns to paint.';
if (!adminKey) throw new Error('--admin-key is required (moss user add NAME --admin prints one)');
if (!/^http:\/\/(127\.|localhost|\[::1\])/.test(base)) throw new Error('loopback targets only');

async function call(method, path, key, body) {
  const res = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(600_000),
  });
  const data = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

// One streamed turn; returns {ttft, end, tokens} with times in ms from performance.now().
async function streamTurn(key, conversationId, text, extra = {}) {
  const start = performance.now();
  const res = await fetch(`${base}/api/conversations/${conversationId}/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
    body: JSON.stringify({ prompt: text, stream: true, max_tokens: maxTokens, ...extra }),
    signal: AbortSignal.timeout(600_000),
  });
  if (!res.ok) throw new Error(`stream: ${res.status} ${await res.text()}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '', first = null, record = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event === 'answer' && first === null) first = performance.now();
      if (event === 'done') record = JSON.parse(data).record;
      if (event === 'error') throw new Error(data);
    }
  }
  const end = performance.now();
  return { start, first: first ?? end, end, tokens: record?.usage?.completion_tokens ?? 0, record };
}

async function makeUsers(n) {
  const stamp = Date.now().toString(36);
  const keys = [];
  for (let i = 0; i < n; i++) keys.push((await call('POST', '/api/users', adminKey, { name: `load-${stamp}-${i}` })).api_key);
  return keys;
}

// One measurement of n concurrent streams: fresh users and conversations, a warm-up turn, then the
// measured follow-up turns.
async function measureLevel(n) {
  const keys = await makeUsers(n);
  const convs = await Promise.all(keys.map((k) => call('POST', '/api/conversations', k, { title: 'load' })));
  // Warm-up turn (1 token): the meta instruction and the first prompt are prefilled and cached, so
  // the measured follow-up turns below are decode, not prefill, and start together.
  await Promise.all(keys.map((k, i) => streamTurn(k, convs[i].id, `${prompt} (${i})`, { max_tokens: 1 })));
  const runs = await Promise.all(keys.map((k, i) => streamTurn(k, convs[i].id, 'Go on.')));
  const firstToken = Math.min(...runs.map((r) => r.first));
  const lastEnd = Math.max(...runs.map((r) => r.end));
  const tokens = runs.reduce((s, r) => s + r.tokens, 0);
  const perStream = runs.map((r) => r.tokens / ((r.end - r.first) / 1000));
  const ttft = runs.map((r) => r.first - r.start);
  return {
    streams: n,
    completion_tokens: tokens,
    aggregate_tok_s: tokens / ((lastEnd - firstToken) / 1000),
    mean_stream_tok_s: perStream.reduce((a, b) => a + b, 0) / n,
    mean_ttft_ms: ttft.reduce((a, b) => a + b, 0) / n,
  };
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

const results = { rounds, levels: [] };
const health = await call('GET', '/health', adminKey);
console.log(`model ${health.model}, max_tokens ${maxTokens}, ${rounds} round(s)`);
const samples = new Map(levels.map((n) => [n, []]));
for (let r = 0; r < rounds; r++)
  for (const n of levels) {
    const m = await measureLevel(n);
    samples.get(n).push(m);
    console.log(
      `round ${r + 1}, ${n} stream(s): ${m.completion_tokens} tokens, aggregate ${m.aggregate_tok_s.toFixed(1)} tok/s, ` +
        `per stream ${m.mean_stream_tok_s.toFixed(1)} tok/s, mean time to first token ${m.mean_ttft_ms.toFixed(0)} ms`,
    );
  }
for (const n of levels) {
  const ms = samples.get(n);
  const level = {
    streams: n,
    completion_tokens: median(ms.map((m) => m.completion_tokens)),
    aggregate_tok_s: median(ms.map((m) => m.aggregate_tok_s)),
    aggregate_tok_s_rounds: ms.map((m) => m.aggregate_tok_s),
    mean_stream_tok_s: median(ms.map((m) => m.mean_stream_tok_s)),
    mean_ttft_ms: median(ms.map((m) => m.mean_ttft_ms)),
  };
  results.levels.push(level);
  console.log(
    `${n} stream(s), median of ${rounds}: aggregate ${level.aggregate_tok_s.toFixed(1)} tok/s ` +
      `(rounds: ${level.aggregate_tok_s_rounds.map((x) => x.toFixed(1)).join(', ')}), per stream ` +
      `${level.mean_stream_tok_s.toFixed(1)} tok/s, mean time to first token ${level.mean_ttft_ms.toFixed(0)} ms`,
  );
}
const one = results.levels.find((l) => l.streams === 1);
for (const l of results.levels) l.speedup_vs_1 = one ? l.aggregate_tok_s / one.aggregate_tok_s : null;
if (one) console.log(results.levels.map((l) => `${l.streams}: ${l.speedup_vs_1.toFixed(2)}x`).join(', '));

// Time to first token: a cold first turn, the follow-up in the same (cached) conversation, and the
// same follow-up in a new conversation that must be rebuilt from the history (OpenAI API, which
// sends the history along).
const [key] = await makeUsers(1);
const conv = await call('POST', '/api/conversations', key, { title: 'ttft' });
const cold = await streamTurn(key, conv.id, prompt);
const follow = await streamTurn(key, conv.id, 'Go on, please.');
const rebuiltStart = performance.now();
const res = await fetch(`${base}/v1/chat/completions`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
  body: JSON.stringify({
    model: health.model,
    stream: true,
    max_tokens: 1,
    messages: [
      { role: 'user', content: prompt },
      { role: 'assistant', content: cold.record.answer },
      { role: 'user', content: 'Go on, please.' },
    ],
  }),
});
const reader = res.body.getReader();
let rebuiltFirst = null, text = '';
while (rebuiltFirst === null) {
  const { value, done } = await reader.read();
  if (done) break;
  text += new TextDecoder().decode(value);
  if (/"content":"[^"]/.test(text)) rebuiltFirst = performance.now();
}
while (!(await reader.read()).done);
results.ttft_ms = {
  cold_first_turn: cold.first - cold.start,
  follow_up_cached: follow.first - follow.start,
  follow_up_rebuilt: (rebuiltFirst ?? performance.now()) - rebuiltStart,
};
console.log(
  `time to first token: cold first turn ${results.ttft_ms.cold_first_turn.toFixed(0)} ms, follow-up with cached KV ` +
    `${results.ttft_ms.follow_up_cached.toFixed(0)} ms, same follow-up rebuilt from history ${results.ttft_ms.follow_up_rebuilt.toFixed(0)} ms`,
);
if (args.json !== undefined) console.log(JSON.stringify(results));
