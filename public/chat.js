// The chat page's script: plain JavaScript, no build step, no external assets.
// Bot text is always inserted with textContent, never parsed as HTML: a reply is data, not markup.
(function () {
  'use strict';

  var TEXT = {
    you: 'Bạn',
    bot: 'Trợ lý',
    sending: 'Đang trả lời…',
    failed: 'Không gửi được tin nhắn. Vui lòng kiểm tra kết nối và thử lại.',
    opensNewTab: ' (mở trang mới)'
  };

  var list = document.getElementById('chat-messages');
  var form = document.getElementById('chat-form');
  var input = document.getElementById('chat-input');
  var send = document.getElementById('chat-send');
  var status = document.getElementById('chat-status');
  if (!list || !form || !input || !send || !status) return;

  var params = new URLSearchParams(window.location.search);
  var unitParam = params.get('unit');
  var unit = unitParam && /^[A-Za-z0-9-]{1,64}$/.test(unitParam) ? unitParam : undefined;
  var storageKey = 'motcua.session.' + (unit || 'default');
  var sessionId = loadSession();
  var busy = false;

  function randomId() {
    var bytes = new Uint8Array(24);
    window.crypto.getRandomValues(bytes);
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function loadSession() {
    // Storage may be blocked in a third-party frame: then the session lasts as long as the page.
    try {
      var existing = window.localStorage.getItem(storageKey);
      if (existing && /^[A-Za-z0-9_-]{16,64}$/.test(existing)) return existing;
      var fresh = randomId();
      window.localStorage.setItem(storageKey, fresh);
      return fresh;
    } catch (e) {
      return randomId();
    }
  }

  function scrollToEnd() {
    list.scrollTop = list.scrollHeight;
  }

  function addUserMessage(text) {
    var li = document.createElement('li');
    li.className = 'msg msg--user';
    li.setAttribute('data-testid', 'message-user');
    var label = document.createElement('span');
    label.className = 'visually-hidden';
    label.textContent = TEXT.you + ': ';
    var p = document.createElement('p');
    p.className = 'msg__text';
    p.textContent = text;
    li.appendChild(label);
    li.appendChild(p);
    list.appendChild(li);
    scrollToEnd();
  }

  function addError(text) {
    var li = document.createElement('li');
    li.className = 'msg msg--error';
    li.setAttribute('data-testid', 'chat-error');
    li.textContent = text;
    list.appendChild(li);
    scrollToEnd();
  }

  function chip(button, kind) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = kind === 'quick' ? 'chip chip--quick' : 'chip';
    b.setAttribute('data-testid', kind === 'quick' ? 'quick-reply' : 'reply-button');
    b.setAttribute('data-payload', String(button.payload));
    b.textContent = String(button.title);
    b.addEventListener('click', function () {
      submit({ payload: String(button.payload) }, String(button.title));
    });
    return b;
  }

  function linkButton(link) {
    var url;
    try {
      url = new URL(String(link.url));
    } catch (e) {
      return null;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
    var a = document.createElement('a');
    a.className = 'link-button';
    a.setAttribute('data-testid', 'reply-link');
    a.href = url.href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = String(link.title);
    var hint = document.createElement('span');
    hint.className = 'visually-hidden';
    hint.textContent = TEXT.opensNewTab;
    a.appendChild(hint);
    return a;
  }

  function addBotMessage(reply) {
    var li = document.createElement('li');
    li.className = 'msg msg--bot';
    li.setAttribute('data-testid', 'message-bot');
    var label = document.createElement('span');
    label.className = 'visually-hidden';
    label.textContent = TEXT.bot + ': ';
    var p = document.createElement('p');
    p.className = 'msg__text';
    p.textContent = typeof reply.text === 'string' ? reply.text : '';
    li.appendChild(label);
    li.appendChild(p);
    var actions = document.createElement('div');
    actions.className = 'msg__actions';
    (Array.isArray(reply.buttons) ? reply.buttons : []).forEach(function (b) {
      actions.appendChild(chip(b, 'button'));
    });
    (Array.isArray(reply.quickReplies) ? reply.quickReplies : []).forEach(function (b) {
      actions.appendChild(chip(b, 'quick'));
    });
    (Array.isArray(reply.links) ? reply.links : []).forEach(function (l) {
      var a = linkButton(l);
      if (a) actions.appendChild(a);
    });
    if (actions.childNodes.length > 0) li.appendChild(actions);
    list.appendChild(li);
    scrollToEnd();
  }

  function setBusy(value) {
    busy = value;
    send.disabled = value;
    status.textContent = value ? TEXT.sending : '';
  }

  function submit(message, shownAs) {
    if (busy) return;
    if (shownAs) addUserMessage(shownAs);
    setBusy(true);
    var body = { sessionId: sessionId };
    if (unit) body.unit = unit;
    if (message.payload !== undefined) body.payload = message.payload;
    if (message.text !== undefined) body.text = message.text;
    fetch('api/chat', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body)
    })
      .then(function (res) {
        return res.json().then(
          function (data) { return { ok: res.ok, data: data }; },
          function () { return { ok: false, data: null }; }
        );
      })
      .then(function (result) {
        if (result.ok && result.data && Array.isArray(result.data.replies)) {
          result.data.replies.forEach(addBotMessage);
        } else if (result.data && result.data.error && typeof result.data.error.message === 'string') {
          addError(result.data.error.message);
        } else {
          addError(TEXT.failed);
        }
      })
      .catch(function () {
        addError(TEXT.failed);
      })
      .then(function () {
        setBusy(false);
      });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var text = input.value;
    if (busy || text.trim().length === 0) return;
    input.value = '';
    submit({ text: text }, text);
    input.focus();
  });

  // The greeting comes from the server, so the page says exactly what the bot says.
  submit({ payload: 'mc:menu' }, null);
})();
