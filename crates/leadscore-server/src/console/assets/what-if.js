// leadscore console, rules page: the what-if panel. Builds a lead from the form, asks the live
// API for its score without recording it (POST /v1/score?record=false), and shows the
// probability, reasons and points. No dependencies; every text is set with textContent.
"use strict";
(function () {
  const form = document.getElementById("what-if-form");
  if (!form) return;
  const result = document.getElementById("what-if-result");
  const events = document.getElementById("what-if-events");
  const template = document.getElementById("what-if-event");
  const addButton = document.getElementById("what-if-add-event");
  const DAY_MS = 86400000;

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  const percent = (p) => (100 * p).toFixed(1) + "%";
  const signed = (v, digits) => (v > 0 ? "+" : v < 0 ? "\u2212" : "") + Math.abs(v).toFixed(digits);
  const pointsText = (v) => {
    const rounded = Math.round(v * 10) / 10;
    return (Number.isInteger(rounded) ? rounded.toFixed(0) : rounded.toFixed(1)).replace("-", "\u2212");
  };

  function lead() {
    const attributes = {};
    for (const input of form.querySelectorAll("[data-attribute]")) {
      const value = input.value.trim();
      if (value === "") continue;
      attributes[input.dataset.attribute] = input.dataset.numeric ? Number(value) : value;
    }
    const now = Date.now();
    const list = [];
    for (const row of events.querySelectorAll("li")) {
      const type = row.querySelector("[data-event-type]").value;
      const days = Number(row.querySelector("[data-event-days]").value || 0);
      list.push({ type: type, timestamp: new Date(now - Math.max(0, days) * DAY_MS).toISOString() });
    }
    return { lead_id: "what-if", attributes: attributes, events: list, as_of: new Date(now).toISOString() };
  }

  function table(id, caption, headers, rows) {
    const t = element("table", { id: id });
    t.appendChild(element("caption", {}, caption));
    const head = element("tr");
    for (const h of headers) head.appendChild(element("th", { scope: "col" }, h));
    t.appendChild(element("thead")).appendChild(head);
    const body = t.appendChild(element("tbody"));
    for (const cells of rows) {
      const tr = body.appendChild(element("tr"));
      cells.forEach((cell, k) => tr.appendChild(element(k === 0 ? "th" : "td", cell[1] || (k === 0 ? { scope: "row" } : {}), cell[0])));
    }
    return t;
  }

  function show(answer) {
    result.replaceChildren();
    const card = element("article", { class: "card", id: "what-if-answer" });
    card.appendChild(element("h3", {}, "This lead would score"));
    const facts = card.appendChild(element("dl"));
    const fact = (term, text, attributes) => {
      facts.appendChild(element("dt", {}, term));
      facts.appendChild(element("dd", attributes || {}, text));
    };
    if (typeof answer.probability === "number") {
      fact("Probability to win", percent(answer.probability), { id: "what-if-probability", "data-value": String(answer.probability) });
      fact("Tier", answer.tier, { id: "what-if-tier" });
      fact("Percentile", answer.percentile.toFixed(0) + " (share of training leads scoring at or below)");
    }
    if (answer.points) {
      const p = answer.points;
      fact("Points", pointsText(p.total) + " (fit " + pointsText(p.fit) + ", engagement " + pointsText(p.engagement) + ")", { id: "what-if-points", "data-value": String(p.total) });
      fact("Grade", p.grade || "\u2013");
      fact("MQL", p.mql ? "yes" : "no", { id: "what-if-mql" });
    }
    result.appendChild(card);
    if (answer.reasons) {
      const rows = (list) => list.map((r) => [[r.source], [r.value], [signed(r.contribution, 2), { class: "num" }]]);
      const headers = ["what", "the lead's value", "effect on log-odds"];
      if (answer.reasons.positive.length) result.appendChild(table("what-if-positive", "Raises the probability", headers, rows(answer.reasons.positive)));
      if (answer.reasons.negative.length) result.appendChild(table("what-if-negative", "Lowers the probability", headers, rows(answer.reasons.negative)));
    }
    if (answer.points) {
      const rows = answer.points.breakdown.map((h) => [[h.rule], [h.group], [h.detail], [(h.points > 0 ? "+" : "") + pointsText(h.points), { class: "num" }]]);
      if (rows.length) result.appendChild(table("what-if-breakdown", "Points breakdown", ["rule", "group", "because", "points"], rows));
      else result.appendChild(element("p", {}, "No rule matched."));
    }
    for (const warning of answer.warnings || []) result.appendChild(element("p", { class: "notice error" }, warning));
  }

  let pending = 0;
  async function score() {
    const ticket = ++pending;
    let answer;
    let problem;
    try {
      const response = await fetch("/v1/score?record=false&reasons=5", {
        method: "POST",
        headers: { "content-type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify(lead()),
      });
      const body = await response.json();
      if (response.ok) answer = body;
      else problem = (body.field ? body.field + ": " : "") + (body.detail || response.statusText);
    } catch (error) {
      problem = "the server could not be reached (" + error.message + ")";
    }
    if (ticket !== pending) return; // a newer request is on its way
    if (answer) show(answer);
    else result.replaceChildren(element("p", { class: "notice error", role: "alert" }, "Cannot score this lead: " + problem));
  }

  let timer;
  function scoreSoon() {
    clearTimeout(timer);
    timer = setTimeout(score, 250);
  }

  function addEvent(type, days) {
    const row = template.content.firstElementChild.cloneNode(true);
    if (type) row.querySelector("[data-event-type]").value = type;
    if (days !== undefined) row.querySelector("[data-event-days]").value = String(days);
    row.querySelector("[data-remove-event]").addEventListener("click", () => {
      row.remove();
      addButton.focus();
      scoreSoon();
    });
    events.appendChild(row);
    return row;
  }

  addButton.addEventListener("click", () => {
    addEvent().querySelector("select").focus();
    scoreSoon();
  });
  form.addEventListener("input", scoreSoon);
  form.addEventListener("change", scoreSoon);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    score();
  });
  score();
})();
