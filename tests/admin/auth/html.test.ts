import { describe, expect, it } from 'vitest';
import { escapeHtml, html, raw } from '../../../src/admin/auth/html.js';

describe('html template', () => {
  it('escapes every interpolation unless raw or nested', () => {
    const name = '<script>alert("x")</script>';
    const inner = html`<b>${"O'Neil & co"}</b>`;
    const out = html`<p title="${name}">${name}${inner}${raw('<i>ok</i>')}${[1, '<', null, undefined, false]}</p>`.value;
    expect(out).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<b>O&#39;Neil &amp; co</b><i>ok</i>1&lt;</p>',
    );
  });

  it('keeps Vietnamese in NFC', () => {
    const nfd = 'Đăng nhập'.normalize('NFD');
    expect(html`${nfd}`.value).toBe('Đăng nhập'.normalize('NFC'));
    expect(escapeHtml('`')).toBe('&#96;');
  });
});
