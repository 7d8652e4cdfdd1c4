// Talks to `moss serve` (docs/api.md): JSON calls, MOSS-style server-sent event streams read
// from fetch() bodies (EventSource cannot POST or send an Authorization header), and generated
// images fetched with the same key and shown through object URLs (an <img src> cannot send it).

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

export class Api {
  constructor() {
    this.key = localStorage.getItem('moss.apiKey') || '';
    this.images = new Map(); // image URL -> Promise of an object URL (each picture is fetched once)
  }

  setKey(key) {
    this.key = key.trim();
    localStorage.setItem('moss.apiKey', this.key);
    this.forgetImages();
  }

  // An object URL for a stored image (GET /api/images/NAME with the API key). Only same-origin
  // /api/images/ paths are fetched, so a record can never make the page send the key elsewhere.
  imageUrl(url) {
    if (!/^\/api\/images\/[A-Za-z0-9_-]+\.(png|jpe?g|webp)$/.test(url)) return Promise.reject(new Error('bad image URL'));
    if (!this.images.has(url)) {
      const headers = this.key ? { Authorization: `Bearer ${this.key}` } : {};
      const p = fetch(url, { headers }).then(async (res) => {
        if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
        return URL.createObjectURL(await res.blob());
      });
      p.catch(() => this.images.delete(url)); // a failed fetch may be retried on the next render
      this.images.set(url, p);
    }
    return this.images.get(url);
  }

  // Frees the object URLs (another key may not see these pictures).
  forgetImages() {
    for (const p of this.images.values()) p.then((u) => URL.revokeObjectURL(u)).catch(() => {});
    this.images.clear();
  }

  headers() {
    const h = { 'Content-Type': 'application/json' };
    if (this.key) h.Authorization = `Bearer ${this.key}`;
    return h;
  }

  async json(method, path, body) {
    const res = await fetch(path, { method, headers: this.headers(), body: body ? JSON.stringify(body) : undefined });
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  // POSTs `body` and calls onEvent(name, data) for every SSE event until the stream ends.
  async stream(path, body, onEvent, signal) {
    const res = await fetch(path, { method: 'POST', headers: this.headers(), body: JSON.stringify(body), signal });
    if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length) onEvent(event, JSON.parse(data.join('\n')));
      }
    }
  }
}
