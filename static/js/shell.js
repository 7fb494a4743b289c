// The operator shell's live channel: one websocket per page, reconnecting with backoff.
// Server events carry {"type": "swap", "target": "#id", "html": "..."} and reuse the page's partials.
(function () {
  const url = document.body.dataset.liveUrl;
  if (!url || !("WebSocket" in window)) return;
  const foot = document.querySelector(".sidebar-foot");
  const status = document.createElement("span");
  status.className = "live-status";
  status.dataset.testid = "live-status";
  status.textContent = "live";
  if (foot) foot.prepend(status);
  function rootId(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    const root = template.content.firstElementChild;
    return root && root.id ? root.id : "";
  }
  let delay = 1000;
  function connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + url);
    ws.onopen = function () { status.dataset.state = "open"; delay = 1000; };
    ws.onmessage = function (event) {
      const data = JSON.parse(event.data);
      // Every page of the client hears every event; one whose target is not on this page is not for it.
      if (data.type === "swap" && data.target && window.htmx && document.querySelector(data.target)) {
        const shown = data.swap === "beforeend" && document.getElementById(rootId(data.html));
        if (shown) htmx.swap("#" + shown.id, data.html, { swapStyle: "outerHTML" });  // a poll already brought it
        else htmx.swap(data.target, data.html, { swapStyle: data.swap || "outerHTML" });
      }
      document.body.dispatchEvent(new CustomEvent("gaby:live", { detail: data }));
    };
    ws.onclose = function (event) {
      status.dataset.state = "closed";
      if (event.code === 4403 || event.code === 4404) return;  // not allowed here: do not retry
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
