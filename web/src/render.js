// Turns MOSS text into safe HTML: Markdown (marked), sanitised (DOMPurify), code highlighted
// (highlight.js) with copy buttons, search citations <sup><|k|></sup> linked to numbered references
// parsed from the Results block.
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/common';
import { marked } from 'marked';

import { t } from './i18n.js';

// `<|k|>: snippet` lines of a Results block -> [{k, text}]; the snippet is a Python repr string,
// shown without its quotes.
export function parseReferences(results) {
  const refs = [];
  for (const line of (results || '').split('\n')) {
    const m = /^<\|(\d+)\|>: (.*)$/.exec(line);
    if (!m) continue;
    let text = m[2];
    const q = text[0];
    if ((q === "'" || q === '"') && text.length > 1) text = text.slice(1, text.endsWith(q) ? -1 : undefined);
    text = text.replace(/\\n/g, '\n').replace(/\\'/g, "'").replace(/\\\\/g, '\\');
    refs.push({ k: Number(m[1]), text });
  }
  return refs;
}

// Replaces <sup><|1|><|2|></sup> with links to #ref-{id}-{k}; citations without a matching
// reference stay plain numbers.
function linkCitations(text, refs, id) {
  const known = new Set(refs.map((r) => r.k));
  return text.replace(/<sup>((?:<\|\d+\|>)+)<\/sup>/g, (_, inner) => {
    const links = [...inner.matchAll(/<\|(\d+)\|>/g)].map(([, k]) =>
      known.has(Number(k)) ? `<a class="cite" href="#ref-${id}-${k}">[${k}]</a>` : `[${k}]`,
    );
    return `<sup>${links.join('')}</sup>`;
  });
}

export function renderMarkdown(text, { refs = [], id = '' } = {}) {
  const html = marked.parse(linkCitations(text || '', refs, id), { gfm: true, breaks: true });
  const clean = DOMPurify.sanitize(html);
  const box = document.createElement('div');
  box.className = 'markdown';
  box.innerHTML = clean;
  for (const code of box.querySelectorAll('pre code')) {
    hljs.highlightElement(code);
    const button = document.createElement('button');
    button.className = 'copy-code';
    button.type = 'button';
    button.textContent = t('copy');
    button.addEventListener('click', async () => {
      await navigator.clipboard?.writeText(code.textContent).catch(() => {});
      button.textContent = t('copied');
      setTimeout(() => (button.textContent = t('copy')), 1200);
    });
    code.parentElement.prepend(button);
  }
  return box;
}

export function renderReferences(refs, id) {
  const ol = document.createElement('ol');
  ol.className = 'references';
  for (const r of refs) {
    const li = document.createElement('li');
    li.id = `ref-${id}-${r.k}`;
    li.value = r.k;
    li.textContent = r.text;
    ol.append(li);
  }
  return ol;
}
