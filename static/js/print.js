// Buttons marked data-print print the page (no inline script: the Content-Security-Policy forbids it).
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
