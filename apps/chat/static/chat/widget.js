/* Gaby chat widget (SRC-3). One file, no framework: <script src="https://<client>.<gaby>/widget.js" data-gaby-key="KEY" async></script>
   Rendered in a shadow DOM so the host page's CSS cannot reach it; themed by CSS variables. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-gaby-key]");
  if (!script || window.__gabyWidget) return;
  window.__gabyWidget = true;
  var key = script.getAttribute("data-gaby-key");
  var base = new URL(script.src, location.href);
  var wsUrl = (base.protocol === "https:" ? "wss://" : "ws://") + base.host + "/ws/widget/?key=" + encodeURIComponent(key);
  var store = "gaby:" + key;
  var CSS = ":host{all:initial;--gaby-accent:#2f5d50;--gaby-accent-text:#fff;--gaby-bg:#fff;--gaby-text:#1d2421;" +
    "--gaby-muted:#5b6662;--gaby-bubble:#eef3f1;--gaby-radius:14px;--gaby-font:system-ui,sans-serif;--gaby-width:360px}" +
    "*{box-sizing:border-box;font-family:var(--gaby-font)}" +
    ".launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:999px;padding:12px 18px;" +
    "background:var(--gaby-accent);color:var(--gaby-accent-text);font-size:15px;cursor:pointer;box-shadow:0 4px 14px #0003}" +
    ".launch:focus-visible,button:focus-visible,textarea:focus-visible,input:focus-visible{outline:3px solid #f0b429;outline-offset:2px}" +
    ".panel{position:fixed;right:20px;bottom:78px;z-index:2147483000;width:var(--gaby-width);max-width:calc(100vw - 40px);" +
    "height:520px;max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:var(--gaby-bg);color:var(--gaby-text);" +
    "border-radius:var(--gaby-radius);box-shadow:0 8px 30px #0004;overflow:hidden;font-size:14px}" +
    ".panel[hidden]{display:none}header{display:flex;align-items:center;gap:8px;padding:12px 14px;background:var(--gaby-accent);" +
    "color:var(--gaby-accent-text)}header img{width:28px;height:28px;border-radius:50%}header strong{flex:1;font-size:15px}" +
    "header button{background:none;border:0;color:inherit;cursor:pointer;font-size:13px}" +
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}" +
    ".msg{max-width:85%;padding:8px 11px;border-radius:12px;background:var(--gaby-bubble);white-space:pre-wrap;line-height:1.4}" +
    ".msg.visitor{align-self:flex-end;background:var(--gaby-accent);color:var(--gaby-accent-text)}" +
    ".msg.system{align-self:center;background:none;color:var(--gaby-muted);font-size:12px;text-align:center}" +
    ".who{display:block;font-size:11px;color:var(--gaby-muted);margin-bottom:2px}.visitor .who{display:none}" +
    ".cites{margin:6px 0 0;padding-left:18px;font-size:12px}.cites a{color:inherit}" +
    ".actions{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px 8px}.actions button,.send{border:1px solid var(--gaby-accent);" +
    "background:var(--gaby-bg);color:var(--gaby-accent);border-radius:999px;padding:6px 12px;cursor:pointer}" +
    ".actions input{flex:1;min-width:0;padding:6px 8px;border:1px solid #ccd;border-radius:8px}" +
    "form.compose{display:flex;gap:6px;padding:10px;border-top:1px solid #dde3e0}" +
    "textarea{flex:1;resize:none;height:40px;padding:8px;border:1px solid #ccd;border-radius:8px;font-size:14px}" +
    ".send{background:var(--gaby-accent);color:var(--gaby-accent-text)}.status{padding:0 12px 6px;font-size:12px;color:#a33}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}";

  var host = document.createElement("div");
  host.setAttribute("data-gaby-widget", "");
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML = "<style>" + CSS + "</style>" +
    '<button class="launch" type="button" aria-expanded="false" aria-controls="gaby-panel" data-testid="gaby-launch">Chat</button>' +
    '<section class="panel" id="gaby-panel" role="dialog" aria-modal="false" hidden data-testid="gaby-panel">' +
    '<header><img alt="" hidden><strong data-testid="gaby-persona">Gaby</strong>' +
    '<button type="button" data-act="end" data-testid="gaby-end">End chat</button>' +
    '<button type="button" data-act="close" aria-label="Close chat" data-testid="gaby-close">✕</button></header>' +
    '<div class="log" role="log" aria-live="polite" aria-relevant="additions" tabindex="0" data-testid="gaby-log"></div>' +
    '<div class="sr" aria-live="assertive" data-testid="gaby-announce"></div>' +
    '<div class="status" role="status" data-testid="gaby-status"></div><div class="actions" data-testid="gaby-actions"></div>' +
    '<form class="compose"><label class="sr" for="gaby-input">Your message</label>' +
    '<textarea id="gaby-input" maxlength="2000" placeholder="Type your question…" data-testid="gaby-input"></textarea>' +
    '<button class="send" type="submit" data-testid="gaby-send">Send</button></form></section>';
  (document.body || document.documentElement).appendChild(host);

  function $(sel) { return root.querySelector(sel); }
  var launch = $(".launch"), panel = $(".panel"), log = $(".log"), input = $("textarea"), actions = $(".actions");
  var statusLine = $(".status"), announce = $(".sr[aria-live=assertive]");
  var ws = null, delay = 1000, persona = "Gaby", drafts = {}, seen = {}, refused = false, queue = [];

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }
  function scroll() { log.scrollTop = log.scrollHeight; }
  function safeUrl(url) { try { var u = new URL(url); return u.protocol === "http:" || u.protocol === "https:" ? u.href : ""; } catch (e) { return ""; } }

  function bubble(msg) {
    if (msg.id && seen[msg.id]) return seen[msg.id];
    var node = el("div", "msg " + msg.role);
    node.setAttribute("data-testid", "gaby-msg-" + msg.role);
    if (msg.role !== "visitor" && msg.role !== "system") node.appendChild(el("span", "who", msg.author || persona));
    node.appendChild(el("span", "body", msg.body));
    if (msg.citations && msg.citations.length) {
      var list = el("ol", "cites");
      list.setAttribute("data-testid", "gaby-citations");
      msg.citations.forEach(function (c) {
        var item = el("li"), url = safeUrl(c.url || "");
        var link = el(url ? "a" : "span", null, c.label || c.document);
        if (url) { link.href = url; link.target = "_blank"; link.rel = "noopener"; }
        item.appendChild(link);
        list.appendChild(item);
      });
      node.appendChild(list);
    }
    if (msg.id) seen[msg.id] = node;
    return node;
  }

  function offer(kind) {
    actions.textContent = "";
    if (kind === "human") {
      var ask = el("button", null, "Talk to a person");
      ask.type = "button";
      ask.setAttribute("data-testid", "gaby-ask-human");
      ask.onclick = function () { actions.textContent = ""; send({ type: "handoff" }); };
      actions.appendChild(ask);
    } else if (kind === "ticket") {
      var form = el("form"), email = el("input"), go = el("button", null, "Create ticket");
      email.type = "email"; email.required = true; email.placeholder = "you@example.com";
      email.setAttribute("aria-label", "Your email"); email.setAttribute("data-testid", "gaby-ticket-email");
      go.type = "submit"; go.setAttribute("data-testid", "gaby-ticket-submit");
      form.style.display = "flex"; form.style.gap = "6px"; form.style.width = "100%";
      form.onsubmit = function (e) { e.preventDefault(); send({ type: "ticket", email: email.value }); actions.textContent = ""; };
      form.appendChild(email); form.appendChild(go); actions.appendChild(form);
    } else if (kind === "csat") {
      actions.appendChild(el("span", null, "How did we do?"));
      [1, 2, 3, 4, 5].forEach(function (n) {
        var b = el("button", null, String(n));
        b.type = "button"; b.setAttribute("aria-label", "Rate " + n + " of 5"); b.setAttribute("data-testid", "gaby-rate-" + n);
        b.onclick = function () { send({ type: "rate", rating: n }); actions.textContent = ""; say("Thanks for your feedback!"); };
        actions.appendChild(b);
      });
    }
  }
  function say(text) { log.appendChild(el("div", "msg system", text)); scroll(); }

  function render(msg) {
    var node = bubble(msg);
    var draft = msg.stream && drafts[msg.stream];
    if (draft) { log.replaceChild(node, draft); delete drafts[msg.stream]; } else if (!node.parentNode) log.appendChild(node);
    if (msg.role !== "visitor") announce.textContent = (msg.author ? msg.author + ": " : "") + msg.body;
    if (msg.offer) offer(msg.offer);
    scroll();
  }

  function handle(data) {
    if (data.type === "ready") {
      localStorage.setItem(store, data.resume);
      var cfg = data.config || {};
      persona = cfg.persona || "Gaby";
      $("strong").textContent = persona;
      panel.setAttribute("aria-label", "Chat with " + persona);
      launch.textContent = "Chat with " + persona;
      if (cfg.avatar && safeUrl(cfg.avatar)) { var img = $("header img"); img.src = cfg.avatar; img.hidden = false; }
      Object.keys(cfg.theme || {}).forEach(function (k) { host.style.setProperty("--gaby-" + k, cfg.theme[k]); });
      log.textContent = ""; seen = {}; drafts = {};
      if (cfg.greeting) log.appendChild(bubble({ role: "gaby", author: persona, body: cfg.greeting }));
      (data.messages || []).forEach(render);
      statusLine.textContent = "";
      while (queue.length) ws.send(JSON.stringify(queue.shift()));
    } else if (data.type === "message") {
      render(data);
    } else if (data.type === "token") {
      var d = drafts[data.stream];
      if (!d) {
        d = drafts[data.stream] = bubble({ role: "gaby", author: persona, body: "" });
        d.setAttribute("data-testid", "gaby-draft");
        log.appendChild(d);
      }
      d.querySelector(".body").textContent += data.text;
      scroll();
    } else if (data.type === "stream_cancelled") {
      var gone = drafts[data.stream];
      if (gone) { gone.remove(); delete drafts[data.stream]; }
    } else if (data.type === "state") {
      if (data.state === "human" && data.operator) statusLine.textContent = "";
      if (data.state === "closed") input.disabled = true;
    } else if (data.type === "offer") {
      offer(data.offer);
    } else if (data.type === "error") {
      statusLine.textContent = data.error;
    }
  }

  function send(event) {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify(event)); else queue.push(event);
  }

  function connect() {
    if (refused) return;
    ws = new WebSocket(wsUrl);
    ws.onopen = function () {
      delay = 1000;
      var identity = script.getAttribute("data-gaby-identity") || window.GabyIdentity || null;
      ws.send(JSON.stringify({ type: "hello", resume: localStorage.getItem(store), identity: identity }));
    };
    ws.onmessage = function (event) { handle(JSON.parse(event.data)); };
    ws.onclose = function (event) {
      if (event.code === 4403 || event.code === 4404) { refused = true; return; }
      statusLine.textContent = "Reconnecting…";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  function toggle(open) {
    panel.hidden = !open;
    launch.setAttribute("aria-expanded", String(open));
    if (open) { if (!ws) connect(); input.focus(); } else launch.focus();
  }
  launch.onclick = function () { toggle(panel.hidden); };
  root.addEventListener("keydown", function (e) { if (e.key === "Escape" && !panel.hidden) toggle(false); });
  $("[data-act=close]").onclick = function () { toggle(false); };
  $("[data-act=end]").onclick = function () { send({ type: "end" }); };
  $("form.compose").onsubmit = function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    actions.textContent = "";
    send({ type: "message", text: text });
    input.value = "";
  };
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("form.compose").requestSubmit(); }
  });
  if (localStorage.getItem(store)) connect();  // a conversation is under way: resume it at once
})();
