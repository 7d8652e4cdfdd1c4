// The chat page: conversation list, streaming answers with MOSS's plugin stages, stop, regenerate,
// feedback, plugin toggles, dark mode and English/Chinese. State lives in `state`; the DOM is
// re-rendered from it except during streaming, where only the live message is updated.
import { Api, ApiError } from './api.js';
import { currentLang, setLang, t } from './i18n.js';
import { parseReferences, renderMarkdown, renderReferences } from './render.js';

const api = new Api();
const $ = (sel) => document.querySelector(sel);
const state = { conversations: [], current: null, records: [], running: false, live: null, abort: null };

function setStatus(text, isError = false) {
  $('#status').textContent = text || '';
  $('#status').classList.toggle('error', isError);
}

function enabledPlugins() {
  return [...document.querySelectorAll('#plugins input:checked')].map((i) => i.value);
}

function samplingBody() {
  const plugins = enabledPlugins();
  return plugins.length ? { plugins } : {};
}

// ---- conversation list ----
async function loadConversations() {
  const data = await api.json('GET', '/api/conversations?limit=100');
  state.conversations = data.conversations;
  renderConversationList();
}

function renderConversationList() {
  const ul = $('#conversations');
  ul.replaceChildren();
  for (const c of state.conversations) {
    const li = document.createElement('li');
    li.className = c.id === state.current ? 'active' : '';
    li.dataset.id = c.id;
    const title = document.createElement('span');
    title.className = 'title';
    title.textContent = c.title || t('untitled');
    title.addEventListener('click', () => openConversation(c.id));
    const del = document.createElement('button');
    del.className = 'delete';
    del.title = t('delete');
    del.textContent = '×';
    del.addEventListener('click', async (e) => {
      e.stopPropagation();
      await api.json('DELETE', `/api/conversations/${c.id}`).catch(showError);
      if (state.current === c.id) newChat();
      loadConversations().catch(showError);
    });
    li.append(title, del);
    ul.append(li);
  }
}

async function openConversation(id) {
  const data = await api.json('GET', `/api/conversations/${id}`);
  state.current = id;
  state.records = data.records;
  location.hash = id;
  renderConversationList();
  renderMessages();
}

function newChat() {
  state.current = null;
  state.records = [];
  location.hash = '';
  renderConversationList();
  renderMessages();
  $('#prompt').focus();
}

// ---- messages ----
function stageBlock(kind, text, open = false) {
  const details = document.createElement('details');
  details.className = `stage ${kind}`;
  details.open = open;
  const summary = document.createElement('summary');
  summary.textContent = t(kind === 'inner_thoughts' ? 'innerThoughts' : kind);
  const pre = document.createElement('pre');
  pre.textContent = text;
  details.append(summary, pre);
  return details;
}

function renderRecord(record, { live = false, last = false } = {}) {
  const wrap = document.createElement('div');
  wrap.className = 'turn';
  wrap.dataset.recordId = record.id ?? 'live';
  const human = document.createElement('div');
  human.className = 'message human';
  human.textContent = record.human;
  const moss = document.createElement('div');
  moss.className = 'message moss';
  const hasPlugins = record.commands && record.commands !== 'None';
  if (record.inner_thoughts && record.inner_thoughts !== 'None') moss.append(stageBlock('inner_thoughts', record.inner_thoughts));
  if (hasPlugins) moss.append(stageBlock('commands', record.commands));
  const refs = parseReferences(record.results);
  if (hasPlugins && record.results) moss.append(stageBlock('results', record.results));
  const answer = renderMarkdown(record.answer || '', { refs, id: record.id ?? 'live' });
  answer.classList.add('answer');
  moss.append(answer);
  if (/Text2Image\(/.test(record.commands || '')) {
    for (const src of record.images || []) {
      const img = document.createElement('img');
      img.className = 'generated';
      img.src = src;
      img.alt = record.commands;
      moss.append(img);
    }
  }
  if (refs.length) {
    const h = document.createElement('div');
    h.className = 'references-title';
    h.textContent = t('references');
    moss.append(h, renderReferences(refs, record.id ?? 'live'));
  }
  if (live) {
    const typing = document.createElement('div');
    typing.className = 'typing';
    typing.textContent = t('generating');
    moss.append(typing);
  } else {
    if (record.finish_reason === 'cancelled') {
      const s = document.createElement('div');
      s.className = 'stopped';
      s.textContent = t('stopped');
      moss.append(s);
    }
    moss.append(actions(record, last));
  }
  wrap.append(human, moss);
  return wrap;
}

function actions(record, last) {
  const bar = document.createElement('div');
  bar.className = 'actions';
  const button = (label, cls, onClick) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = cls;
    b.textContent = label;
    b.addEventListener('click', onClick);
    bar.append(b);
    return b;
  };
  button(t('copy'), 'copy', () => navigator.clipboard?.writeText(record.answer || '').catch(() => {}));
  const like = button(t('like'), `like ${record.rating === 'like' ? 'on' : ''}`, () => rate(record, 'like'));
  const dislike = button(t('dislike'), `dislike ${record.rating === 'dislike' ? 'on' : ''}`, () =>
    rate(record, 'dislike'),
  );
  like.setAttribute('aria-pressed', record.rating === 'like');
  dislike.setAttribute('aria-pressed', record.rating === 'dislike');
  if (last) button(t('regenerate'), 'regenerate', () => regenerate());
  return bar;
}

async function rate(record, rating) {
  const next = record.rating === rating ? 'none' : rating;
  try {
    const updated = await api.json('POST', `/api/conversations/${state.current}/records/${record.id}/feedback`, { rating: next });
    Object.assign(record, updated);
    renderMessages();
  } catch (e) {
    showError(e);
  }
}

function renderMessages() {
  const box = $('#messages');
  box.replaceChildren();
  if (!state.records.length && !state.live) {
    const empty = document.createElement('div');
    empty.className = 'empty';
    empty.textContent = t('empty');
    box.append(empty);
  }
  state.records.forEach((r, i) => box.append(renderRecord(r, { last: i === state.records.length - 1 && !state.running })));
  if (state.live) box.append(renderRecord(state.live, { live: true }));
  box.scrollTop = box.scrollHeight;
}

function updateLive() {
  const box = $('#messages');
  const old = box.querySelector('[data-record-id="live"]');
  const fresh = renderRecord(state.live, { live: true });
  if (old) old.replaceWith(fresh);
  else box.append(fresh);
  box.scrollTop = box.scrollHeight;
}

// ---- sending, streaming, stopping ----
function setRunning(running) {
  state.running = running;
  $('#send').hidden = running;
  $('#stop').hidden = !running;
  $('#prompt').disabled = running;
}

async function runStream(path, body, human, replaceLast) {
  state.live = { human, inner_thoughts: '', commands: '', results: '', answer: '' };
  if (replaceLast) state.records.pop();
  setRunning(true);
  renderMessages();
  state.abort = new AbortController();
  try {
    await api.stream(
      path,
      { ...body, stream: true },
      (event, data) => {
        if (['inner_thoughts', 'commands', 'results', 'answer'].includes(event)) {
          state.live[event] += data.text;
          updateLive();
        } else if (event === 'done') {
          state.records.push(data.record);
          state.live = null;
        } else if (event === 'error') {
          throw new ApiError(500, data);
        }
      },
      state.abort.signal,
    );
  } catch (e) {
    if (e.name !== 'AbortError') showError(e);
  } finally {
    state.live = null;
    state.abort = null;
    setRunning(false);
    // The stored conversation is the truth (a stopped or failed turn is stored as it ended).
    if (state.current) await openConversation(state.current).catch(showError);
    await loadConversations().catch(showError);
  }
}

async function send(prompt) {
  setStatus('');
  if (!state.current) {
    const title = prompt.replace(/\s+/g, ' ').slice(0, 40);
    const conv = await api.json('POST', '/api/conversations', { title });
    state.current = conv.id;
    location.hash = conv.id;
    await loadConversations();
  }
  await runStream(`/api/conversations/${state.current}/messages`, { prompt, ...samplingBody() }, prompt, false);
}

async function regenerate() {
  const last = state.records[state.records.length - 1];
  if (!last || state.running) return;
  await runStream(`/api/conversations/${state.current}/regenerate`, samplingBody(), last.human, true);
}

async function stop() {
  if (!state.current) return;
  await api.json('POST', `/api/conversations/${state.current}/stop`).catch(() => {});
}

function showError(e) {
  const msg = e instanceof ApiError && e.status === 401 ? `${t('error')}: ${e.message} — ${t('apiKey')}` : `${t('error')}: ${e.message}`;
  setStatus(msg, true);
}

// ---- wiring ----
function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem('moss.theme', theme);
}

function init() {
  setLang(currentLang());
  $('#toggle-lang').textContent = currentLang() === 'zh' ? 'English' : '中文';
  applyTheme(localStorage.getItem('moss.theme') || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
  const saved = JSON.parse(localStorage.getItem('moss.plugins') || '[]');
  for (const box of document.querySelectorAll('#plugins input')) {
    box.checked = saved.includes(box.value);
    box.addEventListener('change', () => localStorage.setItem('moss.plugins', JSON.stringify(enabledPlugins())));
  }

  $('#composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const prompt = $('#prompt').value;
    if (!prompt.trim() || state.running) return;
    $('#prompt').value = '';
    send(prompt).catch(showError);
  });
  $('#prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $('#composer').requestSubmit();
    }
  });
  $('#stop').addEventListener('click', () => stop());
  $('#new-chat').addEventListener('click', () => newChat());
  $('#toggle-theme').addEventListener('click', () =>
    applyTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark'),
  );
  $('#toggle-lang').addEventListener('click', () => {
    setLang(currentLang() === 'zh' ? 'en' : 'zh');
    $('#toggle-lang').textContent = currentLang() === 'zh' ? 'English' : '中文';
    renderConversationList();
    renderMessages();
  });
  $('#set-key').addEventListener('click', () => {
    const key = prompt(t('enterKey'), api.key);
    if (key !== null) {
      api.setKey(key);
      loadConversations().then(() => setStatus('')).catch(showError);
    }
  });

  api
    .json('GET', '/health')
    .then((h) => ($('#model-name').textContent = `MOSS · ${h.model}`))
    .catch(() => {});
  loadConversations()
    .then(() => (location.hash.length > 1 ? openConversation(location.hash.slice(1)) : renderMessages()))
    .catch(showError);
}

init();
