// Small behaviours that HTML alone cannot do. Loaded with `defer`; no inline scripts (CSP).
"use strict";

document.addEventListener("click", (event) => {
  const confirmer = event.target.closest("[data-confirm]");
  if (confirmer && !window.confirm(confirmer.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
  const copier = event.target.closest("[data-copy-target]");
  if (copier) {
    const source = document.getElementById(copier.dataset.copyTarget);
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.value || source.textContent).then(() => {
        copier.textContent = "Copied";
      });
    }
  }
  // Close the user menu when clicking elsewhere.
  document.querySelectorAll("details.user-menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
  // The navigation toggle (phones): opens and closes the sidebar it controls.
  const toggle = event.target.closest("button.nav-toggle");
  if (toggle) {
    setNavigation(toggle, toggle.getAttribute("aria-expanded") !== "true");
  } else {
    // A click outside the open sidebar, or on one of its links, closes it.
    document.querySelectorAll("button.nav-toggle[aria-expanded=true]").forEach((button) => {
      const sidebar = document.getElementById(button.getAttribute("aria-controls"));
      if (!sidebar || !sidebar.contains(event.target) || event.target.closest("a")) {
        setNavigation(button, false);
      }
    });
  }
}, true);

function setNavigation(button, open) {
  const sidebar = document.getElementById(button.getAttribute("aria-controls"));
  if (!sidebar) return;
  button.setAttribute("aria-expanded", open ? "true" : "false");
  sidebar.classList.toggle("open", open);
}

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    const results = document.getElementById("global-search-results");
    if (results) results.innerHTML = "";
    document.querySelectorAll("details.user-menu[open]").forEach((menu) => menu.removeAttribute("open"));
    document.querySelectorAll("button.nav-toggle[aria-expanded=true]").forEach((button) => {
      setNavigation(button, false);
      button.focus();
    });
  }
});

// Bulk actions: show only the input the chosen action needs.
function syncBulkInputs(select) {
  const form = select.form;
  form.querySelectorAll("[data-for-action]").forEach((input) => {
    input.hidden = input.dataset.forAction !== select.value;
  });
}
document.addEventListener("change", (event) => {
  if (event.target.matches("select[name=action]")) syncBulkInputs(event.target);
});
document.addEventListener("htmx:afterSettle", () => {
  document.querySelectorAll("select[name=action]").forEach(syncBulkInputs);
});
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("select[name=action]").forEach(syncBulkInputs);
});
