// The self-tests' stand-in for the real page: the same hooks, and a check
// that sends a GET with a header and a POST with a binary body, never the
// number itself.
"use strict";

window.inputEvents = 0;
window.changeEvents = 0;
const number = document.getElementById("number");
const region = document.getElementById("region");
const result = document.getElementById("result");
number.addEventListener("input", () => { window.inputEvents++; });
region.addEventListener("change", () => { window.changeEvents++; });

// bodyBytes is every byte value once, then n more bytes of a pattern: the
// recorder must keep them exactly.
window.bodyBytes = (n) => {
  const b = new Uint8Array(256 + n);
  for (let i = 0; i < b.length; i++) b[i] = i < 256 ? i : (i * 7 + 3) & 0xff;
  return b;
};

document.getElementById("check").addEventListener("click", async () => {
  result.removeAttribute("data-status");
  result.textContent = "Checking…";
  const digits = number.value.replace(/\D/g, "");
  if (digits.length < 8) {
    result.textContent = "Not a phone number";
    result.dataset.status = "invalid";
    return;
  }
  try {
    const r = await fetch("/api/check?region=" + region.value, { headers: { "X-Test": "get-header" } });
    const j = await r.json();
    const p = await fetch("/api/blob", {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: window.bodyBytes(0),
    });
    if (!p.ok) throw new Error("POST " + p.status);
    result.textContent = j.status === "exposed" ? "Exposed" : "Not exposed";
    result.dataset.status = j.status;
  } catch (e) {
    result.textContent = String(e);
    result.dataset.status = "error";
  }
});
