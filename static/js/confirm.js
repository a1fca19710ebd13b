// Destructive buttons ask first: a form with data-confirm="<question>" submits only when the question is
// answered OK. A static file, since the Content-Security-Policy allows no inline onsubmit handler.
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
});
