// End-to-end check of `moss serve -m fake:` with the official `openai` npm client, unchanged:
// model list, plain and streamed completions (with usage), MOSS plugin steps in the "moss"
// extension, error classes for a bad key and a bad request, and the MOSS /api/chat route.
// Usage: MOSS_URL=http://127.0.0.1:PORT MOSS_KEY=... node e2e.mjs          (prints conversations made)
//        MOSS_URL=... MOSS_KEY=... node e2e.mjs --verify N                   (after a kill -9 + restart)
import OpenAI from 'openai';
import assert from 'node:assert/strict';

const baseURL = process.env.MOSS_URL + '/v1';
const apiKey = process.env.MOSS_KEY;
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

async function listConversations() {
  const r = await fetch(process.env.MOSS_URL + '/api/conversations?limit=1000', {
    headers: { Authorization: `Bearer ${apiKey}` },
  });
  assert.equal(r.status, 200);
  return (await r.json()).conversations;
}

if (process.argv[2] === '--verify') {
  const want = Number(process.argv[3]);
  const convs = await listConversations();
  assert.equal(convs.length, want, `expected ${want} conversations after restart, got ${convs.length}`);
  console.error(`verify: all ${want} acknowledged conversations survived kill -9`);
  process.exit(0);
}

const models = await client.models.list();
const ids = [];
for await (const m of models) ids.push(m.id);
assert.deepEqual(ids, ['moss-fake']);

const plain = await client.chat.completions.create({
  model: 'moss-fake',
  messages: [{ role: 'system', content: 'be nice' }, { role: 'user', content: 'hello from node' }],
  temperature: 0.7, top_p: 0.8, max_tokens: 100, seed: 7,
});
assert.equal(plain.choices[0].message.content, 'Hello! This is turn 1. You said: hello from node');
assert.equal(plain.choices[0].finish_reason, 'stop');
assert.equal(plain.usage.completion_tokens, 10);

const stream = await client.chat.completions.create({
  model: 'moss-fake', messages: [{ role: 'user', content: 'stream please' }], stream: true,
  stream_options: { include_usage: true }, stop: ['please'],
});
let text = '';
let usage = null;
for await (const chunk of stream) {
  text += chunk.choices[0]?.delta?.content || '';
  if (chunk.usage) usage = chunk.usage;
}
assert.equal(text, 'Hello! This is turn 1. You said: stream ');
assert.ok(usage && usage.completion_tokens === 8, JSON.stringify(usage));

// Plugins are a MOSS extension field; the client passes it through untouched.
const tool = await client.chat.completions.create({
  model: 'moss-fake', messages: [{ role: 'user', content: 'calc 2+2' }], stream: true, plugins: ['Calculate'],
});
const stages = {};
let answer = '';
for await (const chunk of tool) {
  if (chunk.moss?.stage) stages[chunk.moss.stage] = (stages[chunk.moss.stage] || '') + chunk.moss.text;
  answer += chunk.choices[0]?.delta?.content || '';
}
assert.equal(stages.commands, 'Calculate("2+2")');
assert.equal(answer, 'The result is 42.');

await assert.rejects(
  new OpenAI({ baseURL, apiKey: 'wrong', maxRetries: 0 }).chat.completions.create({
    model: 'moss-fake', messages: [{ role: 'user', content: 'x' }] }),
  (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
await assert.rejects(
  client.chat.completions.create({ model: 'moss-fake', messages: [] }),
  (e) => e instanceof OpenAI.BadRequestError && e.status === 400);

const moss = await fetch(process.env.MOSS_URL + '/api/chat', {
  method: 'POST', headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
  body: JSON.stringify({ prompt: 'hi moss' }),
});
const mj = await moss.json();
assert.equal(mj.status, 200);
assert.equal(mj.response, 'Hello! This is turn 1. You said: hi moss');

const convs = await listConversations();
assert.equal(convs.length, 4);
console.error('e2e: openai client checks passed');
console.log(convs.length);
