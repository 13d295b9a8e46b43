// The printable settlement's Print button (no inline script: the pages' Content-Security-Policy forbids it).
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
