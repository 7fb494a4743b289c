// Every htmx request says how it went. htmx 2 swaps only 2xx responses, so a form answered with 400 (its errors)
// or 502 (a connection refused) used to do nothing at all. Here:
//  - a response that is a re-drawn part of the page (the server marks it with the Gaby-Partial header) is swapped
//    in whatever its status: the form shows its own errors;
//  - any other failure (a 5xx, a 403 page, a lost connection) shows a toast that says what happened;
//  - while a request runs, the element that sent it is marked busy (aria-busy), and the CSS shows a spinner on it.
(function () {
  const PARTIAL = "Gaby-Partial";

  function toastRegion() {
    let region = document.getElementById("toasts");
    if (!region) {
      region = document.createElement("div");
      region.id = "toasts";
      region.className = "toasts";
      region.setAttribute("role", "alert");
      region.setAttribute("aria-live", "assertive");
      region.dataset.testid = "toasts";
      document.body.appendChild(region);
    }
    return region;
  }

  function toast(text) {
    const item = document.createElement("div");
    item.className = "toast";
    item.dataset.testid = "toast";
    const message = document.createElement("span");
    message.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "link";
    close.textContent = "Dismiss";
    close.addEventListener("click", function () { item.remove(); });
    item.append(message, close);
    toastRegion().appendChild(item);
    setTimeout(function () { item.remove(); }, 15000);
  }

  // The server's own words when it gave some (a plain-text or JSON error), else what the status means.
  function describe(xhr) {
    const type = xhr.getResponseHeader("Content-Type") || "";
    const body = (xhr.responseText || "").trim();
    if (type.startsWith("application/json")) {
      try {
        const data = JSON.parse(body);
        if (data && (data.detail || data.error)) return String(data.detail || data.error);
      } catch (ignored) { /* fall through */ }
    }
    if (type.startsWith("text/plain") && body && body.length < 300) return body;
    if (xhr.status === 403) return "You are not allowed to do that here (403). Ask an Admin of this client.";
    if (xhr.status === 404) return "That no longer exists (404). Reload the page to see what is there now.";
    if (xhr.status === 413) return "That is too large to send (413).";
    if (xhr.status === 429) return "Too many requests (429). Wait a moment, then try again.";
    if (xhr.status >= 500) return "Gaby hit an error (" + xhr.status + ") and did not finish. Try again; if it keeps failing, the server log has the details.";
    return "The request failed (" + xhr.status + "). Reload the page and try again.";
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    const xhr = event.detail.xhr;
    if (xhr.status >= 400 && xhr.getResponseHeader(PARTIAL)) {
      event.detail.shouldSwap = true;  // still reported as failed, so success-only handlers stay quiet
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    if (!xhr.getResponseHeader(PARTIAL)) toast(describe(xhr));
  });

  document.addEventListener("htmx:sendError", function () {
    toast("Gaby could not be reached. Check the connection, then try again.");
  });

  document.addEventListener("htmx:timeout", function () {
    toast("Gaby took too long to answer. The action may still finish: reload the page to see.");
  });

  function busy(event, state) {
    const element = event.detail.elt;
    if (element && element.setAttribute) {
      if (state) element.setAttribute("aria-busy", "true");
      else element.removeAttribute("aria-busy");
    }
  }
  document.addEventListener("htmx:beforeRequest", function (event) { busy(event, true); });
  document.addEventListener("htmx:afterRequest", function (event) { busy(event, false); });
})();
