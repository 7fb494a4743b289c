// On a narrow screen the sidebar's navigation folds behind its Menu button (the CSS hides it only once this runs,
// so without JavaScript it simply stays open).
(function () {
  document.documentElement.classList.add("js");
  const button = document.querySelector(".nav-toggle");
  if (!button) return;
  const sidebar = button.closest(".sidebar");
  button.addEventListener("click", function () {
    const open = sidebar.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
