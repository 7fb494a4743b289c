// The operator console's socket: marks this operator online and, on a conversation page, streams it live
// (shadow mode): the visitor's messages, Gaby's answer token by token, and state changes by other operators.
(function () {
  const host = document.querySelector("[data-chat-console]");
  if (!host || !("WebSocket" in window)) return;
  const conversation = host.dataset.conversation;
  const log = document.getElementById("chat-log");
  const status = host.querySelector("[data-testid=shadow-status]");
  const drafts = {};
  let delay = 1000;
  let connections = 0;

  function item(role, who, body) {
    const li = document.createElement("li");
    li.className = "chat-msg " + role;
    li.dataset.testid = "chat-msg-" + role;
    const w = document.createElement("span"); w.className = "who"; w.textContent = who;
    const b = document.createElement("span"); b.className = "body"; b.textContent = body;
    li.append(w, b);
    return li;
  }
  function show(msg) {
    if (!log || log.querySelector('[data-id="' + msg.id + '"]')) return;
    const li = item(msg.role, msg.author || msg.role, msg.body);
    li.dataset.id = msg.id;
    if (msg.citations && msg.citations.length) {
      const ol = document.createElement("ol"); ol.className = "cites";
      msg.citations.forEach(function (c) { const x = document.createElement("li"); x.textContent = c.label; ol.append(x); });
      li.append(ol);
    }
    const draft = msg.stream && drafts[msg.stream];
    if (draft) { draft.replaceWith(li); delete drafts[msg.stream]; } else log.append(li);
  }
  function refreshControls() {
    if (window.htmx && host.dataset.controlsUrl) htmx.ajax("GET", host.dataset.controlsUrl, { target: "#chat-controls", swap: "outerHTML" });
  }
  function connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/chat/console/");
    let timer = null;
    ws.onopen = function () {
      delay = 1000;
      if (conversation) ws.send(JSON.stringify({ type: "watch", conversation: conversation }));
      timer = setInterval(function () { ws.send(JSON.stringify({ type: "ping" })); }, 30000);
    };
    ws.onmessage = function (event) {
      const data = JSON.parse(event.data);
      if (data.type === "watching") {
        // After a reconnect, events sent while the socket was down are missing: reload the transcript.
        if (connections++ > 0 && window.htmx) htmx.ajax("GET", host.dataset.transcriptUrl, { target: "#chat-log", swap: "outerHTML" });
        if (status) status.dataset.state = "live";
      }
      else if (data.type === "message") show(data);
      else if (data.type === "token" && log) {
        let d = drafts[data.stream];
        if (!d) { d = drafts[data.stream] = item("gaby", "Gaby (writing…)", ""); d.dataset.testid = "chat-draft"; log.append(d); }
        d.querySelector(".body").textContent += data.text;
      } else if (data.type === "stream_cancelled" && drafts[data.stream]) {
        drafts[data.stream].remove(); delete drafts[data.stream];
      } else if (data.type === "state") refreshControls();
    };
    ws.onclose = function (event) {
      clearInterval(timer);
      if (status) status.dataset.state = "closed";
      if (event.code === 4403 || event.code === 4404) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
