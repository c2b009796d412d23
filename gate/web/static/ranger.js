// The ranger page's little script: live decisions (SSE), status refresh, camera refresh, card sign-in,
// and the manual open's required reason in the page's language. The page's policy allows no inline
// script, so the script tag says which part to start: data-start="live" (the lane) or "card" (sign-in).
"use strict";
function qaqpaLive() {
  const feed = document.getElementById("feed");
  // continue after the newest decision the page was rendered with; on a reconnect the browser sends the
  // last id it saw (Last-Event-ID) and the gate goes on from there
  const source = new EventSource("/events?after=" + encodeURIComponent(feed.dataset.after));
  source.addEventListener("decision", (e) => {
    feed.insertAdjacentHTML("afterbegin", e.data);
    while (feed.children.length > 50) feed.lastElementChild.remove();
  });
  setInterval(async () => {
    const response = await fetch("/status", { credentials: "same-origin" });
    if (response.status === 401) { location.href = "/login"; return; }
    if (response.ok) document.getElementById("status").innerHTML = await response.text();
  }, 3000);
  const camera = document.getElementById("camera");
  const showCamera = () => {
    // the next frame loads off-screen and replaces the shown one only when it arrived: no flicker
    const next = new Image();
    next.onload = () => { camera.src = next.src; camera.parentElement.hidden = false; };
    next.onerror = () => { camera.parentElement.hidden = true; };
    next.src = "/camera.jpg?t=" + Date.now();
  };
  showCamera();
  setInterval(showCamera, 2000);
  const done = document.getElementById("done");
  if (done) {
    // "opened" is news for a moment; a reload of the kiosk must not announce it again
    history.replaceState(null, "", "/");
    setTimeout(() => done.remove(), 15000);
  }
  for (const input of document.querySelectorAll("[data-required]")) {
    // only spaces are no reason either; the message is the catalogue's, not the browser's
    const check = () => input.setCustomValidity(input.value.trim() ? "" : input.dataset.required);
    input.addEventListener("input", check);
    check();
  }
}
function qaqpaWaitForCard() {
  setInterval(async () => {
    const response = await fetch("/login/card", { credentials: "same-origin" });
    if (response.ok && (await response.json()).signed_in) location.href = "/";
  }, 1000);
}
(function () {
  const start = document.currentScript && document.currentScript.dataset.start;
  if (start === "live") qaqpaLive();
  else if (start === "card") qaqpaWaitForCard();
})();
