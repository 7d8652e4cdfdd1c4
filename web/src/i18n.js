// UI strings in English and Chinese; the choice is remembered in localStorage.
const strings = {
  en: {
    newChat: '+ New chat', apiKey: 'API key', send: 'Send', stop: 'Stop', theme: 'Dark / light',
    placeholder: 'Message MOSS… (Enter to send, Shift+Enter for a new line)',
    pluginSearch: 'Web search', pluginCalculator: 'Calculator', pluginSolver: 'Equation solver',
    pluginImage: 'Text-to-image', innerThoughts: 'Inner thoughts', commands: 'Commands', results: 'Results',
    references: 'References', regenerate: 'Regenerate', copy: 'Copy', copied: 'Copied', like: 'Like',
    dislike: 'Dislike', delete: 'Delete', untitled: 'New conversation', enterKey: 'API key (leave empty in open mode):',
    stopped: '(stopped)', generating: 'MOSS is writing…', imageGenerated: 'Image generated', imageFailed: 'The image could not be loaded',
    empty: 'Start a conversation with MOSS.', error: 'Error',
  },
  zh: {
    newChat: '+ 新对话', apiKey: 'API 密钥', send: '发送', stop: '停止', theme: '深色 / 浅色',
    placeholder: '给 MOSS 发消息…（Enter 发送，Shift+Enter 换行）',
    pluginSearch: '网页搜索', pluginCalculator: '计算器', pluginSolver: '方程求解器', pluginImage: '文生图',
    innerThoughts: '内心独白', commands: '插件指令', results: '插件结果', references: '参考资料',
    regenerate: '重新生成', copy: '复制', copied: '已复制', like: '赞', dislike: '踩', delete: '删除',
    untitled: '新对话', enterKey: 'API 密钥（开放模式可留空）：', stopped: '（已停止）', generating: 'MOSS 正在输入…',
    imageGenerated: '图片已生成', imageFailed: '图片无法加载', empty: '开始与 MOSS 对话吧。', error: '错误',
  },
};

let lang = localStorage.getItem('moss.lang') || (navigator.language.startsWith('zh') ? 'zh' : 'en');

export function t(key) {
  return strings[lang][key] ?? key;
}

export function currentLang() {
  return lang;
}

export function setLang(next) {
  lang = next;
  localStorage.setItem('moss.lang', lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
}
