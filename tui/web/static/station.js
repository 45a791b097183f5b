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

// A file the station sends (`p`: the PDF record) is saved as a download, not opened in a
// pop-up: textual.js opens /download/KEY with window.open when the server says the file is
// ready, and a browser blocks that as a pop-up once the key press is a few seconds old (a PDF
// takes that long to make). A link clicked by script downloads without a pop-up; the server
// answers it as an attachment (tui/web/downloads.py). Any other address opens as before.
const DOWNLOAD_PATH = /^\/download\/[0-9a-f]{32}$/;
const openWindow = window.open.bind(window);

window.open = function (url, target, features) {
  let address = null;
  try {
    address = new URL(url, window.location.href);
  } catch (error) {
    address = null;
  }
  if (address && address.origin === window.location.origin && DOWNLOAD_PATH.test(address.pathname)) {
    const link = document.createElement("a");
    link.href = address.href;
    link.download = "";
    link.rel = "noopener";
    document.body.appendChild(link);
    link.click();
    link.remove();
    return null;
  }
  return openWindow(url, target, features);
};
