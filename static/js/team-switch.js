// The team switcher submits on change (was an inline onchange handler: the Content-Security-Policy allows no
// inline script).
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
