// The search page: POST /search and render the hits. Every piece of server text goes in through textContent or
// text nodes, never innerHTML, so a document cannot inject markup into the page.
"use strict";

const KEY_STORAGE = "semsearch-api-key";
const MIN_TERM = 3;  // shorter words are mostly "in", "to", "of"
const STOP_WORDS = new Set(("and are but can for from has have how its not that the this was what when where which " +
  "who why will with you your").split(" "));

const $ = (id) => document.getElementById(id);

function queryTerms(query) {
  const words = query.toLowerCase().match(/[\p{L}\p{N}_]+/gu) || [];
  return [...new Set(words.filter((w) => w.length >= MIN_TERM && !STOP_WORDS.has(w)))];
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// Append `text` to `parent`, wrapping each occurrence of a query term (at a word start) in <mark>.
function appendHighlighted(parent, text, terms) {
  if (!terms.length) {
    parent.append(text);
    return;
  }
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])(${terms.map(escapeRegExp).join("|")})`, "giu");
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    parent.append(text.slice(last, match.index));
    const mark = document.createElement("mark");
    mark.textContent = match[0];
    parent.append(mark);
    last = match.index + match[0].length;
  }
  parent.append(text.slice(last));
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderHits(hits, query) {
  const terms = queryTerms(query);
  const list = $("results");
  list.replaceChildren();
  for (const hit of hits) {
    const item = element("li", "hit");
    const head = element("div", "hit-head");
    head.append(
      element("span", "score", hit.score.toFixed(3)),
      element("span", "source", hit.source),
      element("span", "doc-id", `${hit.doc_id} #${hit.chunk_index}`),
    );
    const body = element("p", "text");
    appendHighlighted(body, hit.text, terms);
    item.append(head, body);
    list.append(item);
  }
}

function setStatus(message, isError = false) {
  const status = $("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

async function search(event) {
  event.preventDefault();
  const query = $("query").value;
  const body = { query, top_k: Number($("top-k").value) || 10 };
  if ($("mode").value) body.mode = $("mode").value;
  const key = $("api-key").value.trim();
  const headers = { "content-type": "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  setStatus("searching…");
  let response;
  try {
    response = await fetch("/search", { method: "POST", headers, body: JSON.stringify(body) });
  } catch (error) {
    setStatus(`cannot reach the server: ${error}`, true);
    return;
  }
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    $("results").replaceChildren();
    if (response.status === 401) $("key-box").open = true;
    const detail = typeof payload.detail === "string" ? payload.detail
      : (payload.detail || []).map((problem) => `${problem.loc.slice(1).join(".")}: ${problem.msg}`).join("; ");
    setStatus(`${response.status}: ${detail || response.statusText}`, true);
    return;
  }
  renderHits(payload.results, query);
  const count = payload.results.length;
  setStatus(`${count} hit${count === 1 ? "" : "s"} · ${payload.mode} · ${payload.took_ms.toFixed(1)} ms`);
}

document.addEventListener("DOMContentLoaded", () => {
  const keyField = $("api-key");
  keyField.value = sessionStorage.getItem(KEY_STORAGE) || "";
  keyField.addEventListener("input", () => sessionStorage.setItem(KEY_STORAGE, keyField.value.trim()));
  $("search-form").addEventListener("submit", search);
});
