// The deal board: drag a card onto another stage's column to move the deal there.
// Each card also has a stage select with a Move button, which works without this script
// (and from the keyboard); a drop posts the same form fields through htmx.
"use strict";

(() => {
  let dragged = null;

  function columnOf(element) {
    return element instanceof Element ? element.closest(".board-column") : null;
  }

  document.addEventListener("dragstart", (event) => {
    const card = event.target instanceof Element ? event.target.closest(".deal-card[draggable=true]") : null;
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.deal);
  });

  document.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    document.querySelectorAll(".board-column.drop-target").forEach((column) => column.classList.remove("drop-target"));
  });

  document.addEventListener("dragover", (event) => {
    const column = columnOf(event.target);
    if (!dragged || !column) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".board-column.drop-target").forEach((other) => {
      if (other !== column) other.classList.remove("drop-target");
    });
    column.classList.add("drop-target");
  });

  document.addEventListener("drop", (event) => {
    const column = columnOf(event.target);
    if (!dragged || !column) return;
    event.preventDefault();
    const card = dragged;
    if (columnOf(card) === column) return;
    const values = {};
    const filters = document.getElementById("board-filters");
    if (filters) {
      new FormData(filters).forEach((value, key) => { values[key] = value; });
    }
    values.stage = column.dataset.stage;
    values.version = card.dataset.version;
    if (column.dataset.kind === "lost") {
      const reason = window.prompt(`Why was the deal lost? (moving to ${column.dataset.name})`);
      if (reason === null) return;
      values.lost_reason = reason;
    }
    const board = document.getElementById("board");
    values.csrfmiddlewaretoken = board ? board.dataset.csrf : "";
    window.htmx.ajax("POST", card.dataset.moveUrl, { target: "#board", swap: "outerHTML", values });
  });
})();
