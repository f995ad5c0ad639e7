// The embeddable widget: a commune website adds
//   <script src="https://motcua.example/widget.js" data-unit="xa-mau" async></script>
// and gets a floating button that opens the chat page in a frame. The frame isolates our styles
// and scripts from the host page, and the chat talks only to its own origin (no CORS needed).
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src || window.__motcuaWidget) return;
  window.__motcuaWidget = true;

  var TEXT = {
    open: 'Hỏi đáp thủ tục hành chính',
    close: 'Đóng khung trò chuyện',
    frameTitle: 'Trợ lý tự động hỏi đáp thủ tục hành chính'
  };

  var base = new URL('./', script.src);
  var unit = script.getAttribute('data-unit');
  var chatUrl = new URL('./', base);
  if (unit && /^[A-Za-z0-9-]{1,64}$/.test(unit)) chatUrl.searchParams.set('unit', unit);
  chatUrl.searchParams.set('embed', '1');

  var button = document.createElement('button');
  button.type = 'button';
  button.setAttribute('data-testid', 'widget-toggle');
  button.setAttribute('aria-expanded', 'false');
  button.setAttribute('aria-controls', 'motcua-widget-panel');
  button.setAttribute('aria-label', TEXT.open);
  button.textContent = TEXT.open;
  var bs = button.style;
  bs.position = 'fixed';
  bs.right = '16px';
  bs.bottom = '16px';
  bs.zIndex = '2147483000';
  bs.padding = '12px 16px';
  bs.border = '0';
  bs.borderRadius = '24px';
  bs.background = '#a4161a';
  bs.color = '#fff';
  bs.font = '600 15px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
  bs.boxShadow = '0 2px 10px rgba(0,0,0,.25)';
  bs.cursor = 'pointer';

  var panel = document.createElement('div');
  panel.id = 'motcua-widget-panel';
  panel.setAttribute('data-testid', 'widget-panel');
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', TEXT.frameTitle);
  panel.hidden = true;
  var ps = panel.style;
  ps.display = 'none';
  ps.position = 'fixed';
  ps.zIndex = '2147483001';
  ps.right = '0';
  ps.bottom = '0';
  ps.width = '100%';
  ps.height = '100%';
  ps.background = '#fff';
  ps.boxShadow = '0 4px 24px rgba(0,0,0,.3)';
  function fitPanel() {
    // Full screen on phones, a floating panel on wider screens.
    var wide = window.innerWidth >= 600;
    ps.width = wide ? '380px' : '100%';
    ps.height = wide ? 'min(640px, calc(100% - 96px))' : '100%';
    ps.right = wide ? '16px' : '0';
    ps.bottom = wide ? '80px' : '0';
    ps.borderRadius = wide ? '12px' : '0';
    ps.overflow = 'hidden';
  }
  fitPanel();
  window.addEventListener('resize', fitPanel);

  var close = document.createElement('button');
  close.type = 'button';
  close.setAttribute('data-testid', 'widget-close');
  close.setAttribute('aria-label', TEXT.close);
  close.textContent = '×';
  var cs = close.style;
  cs.position = 'absolute';
  cs.top = '6px';
  cs.right = '8px';
  cs.zIndex = '1';
  cs.width = '36px';
  cs.height = '36px';
  cs.border = '0';
  cs.borderRadius = '18px';
  cs.background = 'rgba(255,255,255,.9)';
  cs.font = '24px/1 system-ui, sans-serif';
  cs.cursor = 'pointer';

  var frame = null;

  function open() {
    if (!frame) {
      // Loaded on first open only, so a page that never opens the chat costs nothing.
      frame = document.createElement('iframe');
      frame.src = chatUrl.href;
      frame.title = TEXT.frameTitle;
      frame.setAttribute('data-testid', 'widget-frame');
      frame.style.border = '0';
      frame.style.width = '100%';
      frame.style.height = '100%';
      panel.appendChild(frame);
    }
    panel.hidden = false;
    ps.display = 'block';
    button.setAttribute('aria-expanded', 'true');
    close.focus();
  }

  function hide() {
    panel.hidden = true;
    ps.display = 'none';
    button.setAttribute('aria-expanded', 'false');
    button.focus();
  }

  button.addEventListener('click', function () {
    if (panel.hidden) open();
    else hide();
  });
  close.addEventListener('click', hide);
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && !panel.hidden) hide();
  });

  panel.appendChild(close);
  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(button);
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
