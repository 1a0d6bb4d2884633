// Applies the stored colour theme before the page paints (a classic script, so it runs at once).
(function () {
  var root = document.documentElement;
  var stored = null;
  try { stored = window.localStorage.getItem("shipyard-theme"); } catch (e) { stored = null; }
  if (stored === "dark" || stored === "light") root.setAttribute("data-theme", stored);
  var dark = stored ? stored === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
  root.setAttribute("data-resolved-theme", dark ? "dark" : "light");
})();
