// A button with data-copy="#id" copies that element's text to the clipboard and says so (no inline handlers: the
// content security policy forbids them).
document.addEventListener("click", function (event) {
  const button = event.target.closest && event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const label = button.textContent;
  const done = function (text) {
    button.textContent = text;
    setTimeout(function () { button.textContent = label; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(source.textContent.trim()).then(function () { done("Copied"); }, function () { done("Select and copy it"); });
  } else {
    const range = document.createRange();  // plain http: select it so Ctrl+C copies it
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    done(document.execCommand && document.execCommand("copy") ? "Copied" : "Selected: press Ctrl+C");
  }
});
