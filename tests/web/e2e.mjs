// End-to-end test of the web chat UI: starts `moss serve -m fake:` (scripted engine, no model) on a
// free loopback port with a fresh SQLite file, drives Debian's Chromium with playwright-core, and
// checks type -> stream -> stop -> regenerate -> reload -> find the conversation again, plus the
// theme and language toggles, and a Text2Image turn whose picture (a placeholder PNG drawn by the fake
// engine) shows inline while the answer streams and again after a reload. Screenshots go to $MOSS_ARTIFACTS (default test-artifacts/web).
// Usage: node tests/web/e2e.mjs PATH_TO_MOSS
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const require = createRequire(path.join(root, 'web/package.json'));
const { chromium } = require('playwright-core');

const mossBin = process.argv[2];
const artifacts = process.env.MOSS_ARTIFACTS || path.join(root, 'test-artifacts/web');
fs.mkdirSync(artifacts, { recursive: true });
const webRoot = path.join(root, 'web/dist');
if (!fs.existsSync(path.join(webRoot, 'index.html'))) {
  console.error(`web UI not built: ${webRoot}/index.html missing (run scripts/setup.sh)`);
  process.exit(1);
}

let failures = 0;
let passes = 0;
function check(cond, what) {
  if (cond) {
    passes++;
    console.log(`ok - ${what}`);
  } else {
    failures++;
    console.log(`FAIL - ${what}`);
  }
}

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function waitForHealth(base) {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${base}/health`);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not come up');
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'moss-web-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawn(
  mossBin,
  ['serve', '-m', 'fake:', '--port', String(port), '--db', `sqlite:${tmp}/moss.db`, '--web-root', webRoot,
   '--fake-delay-ms', '40', '--image-dir', `${tmp}/images`],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const deadline = setTimeout(() => {
  console.log('FAIL - timed out');
  process.exit(1);
}, 90_000);

try {
  await waitForHealth(base);
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  await page.addInitScript(() => localStorage.setItem('moss.lang', localStorage.getItem('moss.lang') || 'en'));
  await page.goto(base + '/');
  await page.waitForSelector('#prompt');
  check((await page.textContent('.empty'))?.includes('Start a conversation'), 'empty state shown');
  await page.screenshot({ path: path.join(artifacts, '01-empty.png') });

  // Type and stream: the fake engine echoes the prompt word by word.
  await page.fill('#prompt', 'hello moss how are you today');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('.typing');
  check(true, 'answer streams (typing indicator while generating)');
  await page.waitForSelector('.turn .actions', { timeout: 20_000 });
  const answer = await page.textContent('.turn .answer');
  check(answer.includes('today'), `streamed answer complete: "${answer.trim().slice(0, 60)}"`);
  check((await page.locator('#conversations li').count()) === 1, 'conversation listed');
  await page.screenshot({ path: path.join(artifacts, '02-answer.png') });

  // Stop a long answer mid-stream.
  const long = Array.from({ length: 120 }, (_, i) => `word${i}`).join(' ');
  await page.fill('#prompt', long);
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('#stop:not([hidden])');
  await page.waitForFunction(() => (document.querySelector('[data-record-id="live"] .answer')?.textContent || '').length > 10);
  await page.click('#stop');
  await page.waitForSelector('.stopped', { timeout: 20_000 });
  const records = async () => {
    const id = await page.evaluate(() => location.hash.slice(1));
    return (await (await fetch(`${base}/api/conversations/${id}`)).json()).records;
  };
  const stoppedRecord = (await records())[1];
  check(stoppedRecord.finish_reason === 'cancelled', 'stop ends the answer early and it is stored as cancelled');
  await page.screenshot({ path: path.join(artifacts, '03-stopped.png') });

  // Regenerate the last answer: it runs to the end this time and replaces the stopped record.
  await page.click('.turn:last-child .regenerate');
  await page.waitForSelector('.typing');
  await page.waitForFunction(() => document.querySelectorAll('.turn').length === 2 && !document.querySelector('.typing'),
    null, { timeout: 30_000 });
  const after = await records();
  check(after.length === 2 && after[1].id !== stoppedRecord.id && after[1].finish_reason === 'stop',
    `regenerate replaces the stopped answer with a finished one (${after[1]?.finish_reason})`);
  check((await page.locator('.turn:last-child .stopped').count()) === 0, 'the regenerated answer is not marked stopped');
  const shown = await page.locator('.turn').nth(1).locator('.answer').textContent();
  check(shown.trim() === after[1].answer.trim(), 'the page shows the stored regenerated answer');

  // Like the first answer.
  await page.click('.turn:first-child .like');
  await page.waitForSelector('.turn:first-child .like.on');
  check(true, 'like is stored and shown');

  // Reload, start fresh, and find the conversation again in the list.
  await page.goto(base + '/');
  await page.waitForSelector('#conversations li');
  await page.click('#conversations li .title');
  await page.waitForSelector('.turn');
  check((await page.locator('.turn').count()) === 2, 'conversation found again after reload with both turns');
  check((await page.locator('.turn:first-child .like.on').count()) === 1, 'like persisted');
  await page.screenshot({ path: path.join(artifacts, '04-reloaded.png') });

  // Dark mode and Chinese.
  await page.click('#toggle-theme');
  await page.click('#toggle-lang');
  check((await page.getAttribute('html', 'data-theme')) === 'dark', 'dark mode');
  check((await page.textContent('#send')) === '发送', 'Chinese UI strings');
  await page.screenshot({ path: path.join(artifacts, '05-dark-zh.png') });

  // Markdown renders, and HTML in an answer cannot run script (the fake engine echoes the prompt).
  await page.click('#new-chat');
  await page.fill('#prompt', 'try <img src=x onerror="window.__xss=1"> and **bold** text');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('.turn .actions', { timeout: 20_000 });
  check((await page.locator('.turn .answer strong').count()) === 1, 'Markdown rendered in the answer');
  check(await page.evaluate(() => window.__xss === undefined), 'HTML in an answer does not execute script');

  // Text2Image: the fake engine's "draw ..." turn saves a 64x64 placeholder PNG. The picture
  // appears in the live turn as soon as its `image` event arrives (before the answer ends), and
  // is loaded with the API key as a blob (an <img src> could not send the key).
  await page.click('#new-chat');
  await page.check('#plugins input[value="Text2Image"]');
  await page.fill('#prompt', 'draw a red cat sitting on a blue mat under a tall green tree at noon on a warm summer day');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('[data-record-id="live"] .images figure', { timeout: 20_000 });
  check(true, 'the picture shows in the live turn while the answer streams');
  await page.waitForSelector('.turn .actions', { timeout: 20_000 });
  const img = page.locator('.turn .images img.generated');
  await img.first().waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => {
    const el = document.querySelector('.turn .images img.generated');
    return el && el.complete && el.naturalWidth > 0;
  }, null, { timeout: 10_000 });
  const info = await img.first().evaluate((el) => ({ src: el.src, w: el.naturalWidth, h: el.naturalHeight }));
  check(info.src.startsWith('blob:') && info.w === 64 && info.h === 64,
    `the generated image is shown inline under the answer (${info.src.slice(0, 5)} ${info.w}x${info.h})`);
  const stored = (await records())[0];
  check(stored.images?.length === 1 && stored.images[0].url === `/api/images/${stored.images[0].name}`,
    'the stored record lists the image URL');
  const direct = await fetch(`${base}${stored.images[0].url}`);
  check(direct.ok && direct.headers.get('content-type') === 'image/png', 'the image route serves it as image/png');
  await page.screenshot({ path: path.join(artifacts, '06-image.png') });
  await page.reload();
  await page.waitForFunction(() => {
    const el = document.querySelector('.turn .images img.generated');
    return el && el.complete && el.naturalWidth === 64;
  }, null, { timeout: 10_000 });
  check(true, 'the image is shown again after a reload');
} catch (e) {
  failures++;
  console.log(`FAIL - ${e.stack || e}`);
} finally {
  clearTimeout(deadline);
  await browser.close();
  server.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(`${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
