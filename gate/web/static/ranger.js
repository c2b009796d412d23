// The ranger page's little script: live decisions (SSE), status refresh, camera refresh, card sign-in.
"use strict";
function qaqpaLive() {
  const feed = document.getElementById("feed");
  const source = new EventSource("/events");
  source.addEventListener("decision", (e) => {
    feed.insertAdjacentHTML("afterbegin", e.data);
    while (feed.children.length > 50) feed.lastElementChild.remove();
  });
  setInterval(async () => {
    const response = await fetch("/status", { credentials: "same-origin" });
    if (response.status === 401) { location.href = "/login"; return; }
    if (response.ok) document.getElementById("status").innerHTML = await response.text();
  }, 3000);
  setInterval(() => {
    const camera = document.getElementById("camera");
    if (camera) camera.src = "/camera.jpg?t=" + Date.now();
  }, 2000);
}
function qaqpaWaitForCard() {
  setInterval(async () => {
    const response = await fetch("/login/card", { credentials: "same-origin" });
    if (response.ok && (await response.json()).signed_in) location.href = "/";
  }, 1000);
}
