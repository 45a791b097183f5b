// monitor serve: the page's one script of its own (the Content-Security-Policy runs no inline
// script). The Start and Restart buttons reload the page without its `delay` parameter, as
// textual-serve's inline refresh() did, minus its `ping` request to any address.
"use strict";

function startUrl() {
  const params = new URLSearchParams(window.location.search);
  params.delete("delay");
  params.delete("ping");
  const query = params.toString();
  return window.location.pathname + (query ? "?" + query : "");
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.restart")) {
    button.addEventListener("click", () => {
      window.location.href = startUrl();
    });
  }
});
