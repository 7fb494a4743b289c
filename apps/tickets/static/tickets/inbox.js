// Inbox keyboard navigation: j/k move between rows, Enter opens, / focuses the search box.
(function () {
  function rows() { return Array.from(document.querySelectorAll("[data-ticket-row]")); }
  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
    if (event.key === "/") {
      const search = document.getElementById("inbox-q");
      if (search) { event.preventDefault(); search.focus(); }
      return;
    }
    const all = rows();
    if (!all.length) return;
    const index = all.indexOf(document.activeElement);
    if (event.key === "j" || event.key === "k") {
      const next = event.key === "j" ? Math.min(index + 1, all.length - 1) : Math.max(index - 1, 0);
      all[next].focus();
      all.forEach(function (row) { row.classList.toggle("selected", row === all[next]); });
    } else if (event.key === "Enter" && index >= 0) {
      window.location.href = all[index].dataset.href;
    }
  });
})();
