// The pipeline page (replaced by the full page).
"use strict";
async function api(path, body) {
  const r = await fetch(path, body ? { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {});
  return r.json();
}
(async () => {
  const list = await api("/api/v1/notebooks");
  const select = document.getElementById("notebooks");
  for (const n of list) select.add(new Option(n.path, n.path));
  document.getElementById("status").textContent = `${list.length} notebooks`;
})();
