// overthink review: keyboard labelling and immediate saves. Plain JS, no build step, no external resources.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const reviewerInput = document.getElementById("reviewer");
  const help = document.getElementById("help");
  const samples = Array.from(document.querySelectorAll("article.sample"));
  let current = -1;

  function reviewer() { return reviewerInput.value.trim(); }

  reviewerInput.addEventListener("change", function () {
    // The server renders "your" labels from this cookie; reload to show them.
    document.cookie = "overthink_reviewer=" + encodeURIComponent(reviewer()) + "; path=/; SameSite=Strict; max-age=31536000";
    location.reload();
  });
  document.getElementById("help-toggle").addEventListener("click", function () { help.hidden = !help.hidden; });

  function select(i) {
    if (!samples.length) return;
    current = Math.max(0, Math.min(samples.length - 1, i));
    samples.forEach(function (s, k) { s.classList.toggle("current", k === current); });
    samples[current].focus({ preventScroll: true });
    samples[current].scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  function toggleExpand(article) {
    const box = article.querySelector(".reasoning.collapsible");
    if (!box) return;
    const collapsed = box.classList.toggle("collapsed");
    const button = box.querySelector("button.expand");
    button.textContent = collapsed ? button.dataset.label : "collapse";
  }

  async function save(article) {
    const state = article.querySelector(".save-state");
    const name = reviewer();
    if (!name) {
      state.textContent = "enter your reviewer name first";
      state.className = "save-state failed";
      reviewerInput.focus();
      return;
    }
    const body = {
      sample_id: Number(article.dataset.sampleId),
      labels: Array.from(article.querySelectorAll("button.code[aria-pressed=true]")).map(function (b) { return b.dataset.code; }),
      tags: article.querySelector("input.tags").value.split(",").map(function (t) { return t.trim(); }).filter(Boolean),
      note: article.querySelector("textarea.note").value,
      reviewer: name,
    };
    state.textContent = "saving…";
    state.className = "save-state saving";
    try {
      const response = await fetch("/api/labels", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(function () { return { error: response.statusText }; });
      if (!response.ok) throw new Error(data.error || response.statusText);
      state.textContent = "saved " + new Date(data.label.created_at * 1000).toLocaleTimeString() + " by " + data.label.reviewer;
      state.className = "save-state saved";
    } catch (err) {
      state.textContent = "not saved: " + err.message;
      state.className = "save-state failed";
    }
  }

  function toggleCode(article, code) {
    const button = article.querySelector('button.code[data-code="' + code + '"]');
    const on = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", on ? "true" : "false");
    // "no failure" and the failure modes exclude each other.
    article.querySelectorAll("button.code").forEach(function (b) {
      if (on && b !== button && (code === "no-failure" || b.dataset.code === "no-failure")) b.setAttribute("aria-pressed", "false");
    });
    save(article);
  }

  samples.forEach(function (article, i) {
    article.addEventListener("click", function () { if (current !== i) select(i); });
    article.querySelectorAll("button.code").forEach(function (b) {
      b.addEventListener("click", function () { toggleCode(article, b.dataset.code); });
    });
    const expand = article.querySelector("button.expand");
    if (expand) {
      expand.dataset.label = expand.textContent;
      expand.addEventListener("click", function () { toggleExpand(article); });
    }
    const tags = article.querySelector("input.tags");
    const note = article.querySelector("textarea.note");
    tags.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); save(article); tags.blur(); article.focus(); }
    });
    note.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); save(article); note.blur(); article.focus(); }
    });
    tags.addEventListener("change", function () { save(article); });
    note.addEventListener("change", function () { save(article); });
    article.querySelector("form.labeler").addEventListener("submit", function (e) { e.preventDefault(); });
  });

  const keys = {};
  document.querySelectorAll("button.code").forEach(function (b) {
    keys[b.querySelector("kbd").textContent] = b.dataset.code;
  });

  document.addEventListener("keydown", function (e) {
    const target = e.target;
    const typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
    if (typing) {
      if (e.key === "Escape") { target.blur(); if (current >= 0) samples[current].focus(); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const article = current >= 0 ? samples[current] : null;
    if (e.key === "?") { help.hidden = !help.hidden; return; }
    if (e.key === "j") { select(current + 1); e.preventDefault(); return; }
    if (e.key === "k") { select(current - 1); e.preventDefault(); return; }
    if (e.key === "]" || e.key === "[") {
      const link = document.getElementById(e.key === "]" ? "next-item" : "prev-item");
      if (link) location.href = link.href;
      return;
    }
    if (!article && (keys[e.key] || e.key === "t" || e.key === "n" || e.key === "e")) select(0);
    const a = current >= 0 ? samples[current] : null;
    if (!a) return;
    if (keys[e.key]) { toggleCode(a, keys[e.key]); e.preventDefault(); }
    else if (e.key === "t") { a.querySelector("input.tags").focus(); e.preventDefault(); }
    else if (e.key === "n") { a.querySelector("textarea.note").focus(); e.preventDefault(); }
    else if (e.key === "e") { toggleExpand(a); e.preventDefault(); }
  });
})();
