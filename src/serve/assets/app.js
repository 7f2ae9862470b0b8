// runwell's dashboard: live check states, starting runs, answering their
// questions, following their output. Plain JavaScript, no build step; text
// from the server is only ever set as textContent, never parsed as HTML.
"use strict";

const csrf = document.querySelector('meta[name="csrf-token"]')?.content;

async function post(url, body) {
  const headers = { "Content-Type": "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const response = await fetch(url, {
    method: "POST",
    headers,
    body: body === undefined ? "{}" : JSON.stringify(body),
    credentials: "same-origin",
  });
  let data = null;
  const text = await response.text();
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = { error: text }; }
  if (!response.ok) throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  return data;
}

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value; else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

// An ISO 8601 duration as the journal writes it (PT1.25S, PT2M3S) in words.
function humanDuration(iso) {
  const match = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?$/.exec(iso || "");
  if (!match) return iso || "";
  const seconds = (Number(match[1] || 0) * 3600) + (Number(match[2] || 0) * 60) + Number(match[3] || 0);
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function setState(span, state) {
  span.className = `state ${state}`;
  span.textContent = state;
}

// ---- check states, live ------------------------------------------------

function rowsFor(runbook, check) {
  return [...document.querySelectorAll("tr[data-runbook][data-check]")]
    .filter((row) => row.dataset.runbook === runbook && row.dataset.check === check);
}

function showCheck(change) {
  for (const row of rowsFor(change.runbook, change.check)) {
    const state = row.querySelector('[data-field="state"]');
    if (state) setState(state, change.state);
    const reason = row.querySelector('[data-field="reason"]');
    if (reason) reason.textContent = change.reason || "";
    const latency = row.querySelector('[data-field="latency"]');
    if (latency && typeof change.latency_ms === "number") latency.textContent = `${change.latency_ms.toFixed(1)} ms`;
  }
  for (const cell of document.querySelectorAll("[data-state-for]")) {
    if (cell.dataset.stateFor === change.check && document.body.dataset.runbook === change.runbook) {
      cell.replaceChildren(element("span", { class: `state ${change.state}` }, change.state));
    }
  }
}

function followChecks() {
  const source = new EventSource("/api/events");
  source.addEventListener("check", (event) => showCheck(JSON.parse(event.data)));
  source.addEventListener("resync", () => window.location.reload());
  source.addEventListener("run", () => {
    if (document.body.dataset.page === "runs") window.location.reload();
  });
}

// ---- the runbook page --------------------------------------------------

async function runbookPage() {
  const name = document.body.dataset.runbook;
  try {
    const response = await fetch(`/api/runbooks/${encodeURIComponent(name)}`, { credentials: "same-origin" });
    const runbook = await response.json();
    for (const check of runbook.checks || []) {
      showCheck({ runbook: name, check: check.check, state: check.state, reason: check.last?.reason,
                  latency_ms: check.last?.latency_ms });
    }
  } catch (_) { /* the live stream fills them in */ }

  const select = document.getElementById("procedure");
  for (const marker of document.querySelectorAll(".procedure[data-procedure]")) {
    const id = marker.dataset.procedure;
    const button = element("button", { type: "button" }, `Run this procedure (${marker.dataset.safety || "read"})…`);
    button.addEventListener("click", () => {
      if (select) {
        select.value = id;
        select.focus();
        select.scrollIntoView({ block: "center" });
      }
    });
    marker.append(button);
  }

  for (const button of document.querySelectorAll("button[data-check-now]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await post(`/api/checks/${encodeURIComponent(name)}/${encodeURIComponent(button.dataset.checkNow)}/run`);
      } catch (error) {
        button.title = error.message;
      } finally {
        button.disabled = false;
      }
    });
  }

  const form = document.getElementById("start");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("start-error");
    error.textContent = "";
    const values = {};
    for (const input of form.querySelectorAll("input[data-var]")) {
      if (input.value !== "") values[input.dataset.var] = input.value;
    }
    const body = {
      runbook: name,
      procedure: form.procedure.value,
      values,
      dry_run: form.dry_run.checked,
    };
    if (form.env.value) body.env = form.env.value;
    try {
      const started = await post("/api/runs", body);
      window.location.assign(started.page);
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
}

// ---- a run's page ------------------------------------------------------

const kinds = {
  step_started: (e) => `${e.step}. ${e.id} [${e.step_kind}, ${e.safety}]`,
  confirmation_asked: (e) => `asked: ${e.prompt}`,
  confirmation_answered: (e) => `${e.accepted ? "confirmed" : "declined"} by ${e.by} (${e.answer})`,
  acknowledged: (e) => `done, acknowledged by ${e.by}: ${e.item}`,
  check_result: (e) => `check ${e.name}: ${e.status}${e.reason ? ` (${e.reason})` : ""}`,
  note: (e) => e.text,
  run_started: (e) => `run started by ${e.operator}`,
  run_finished: (e) => `run ${e.status}${e.reason ? `: ${e.reason}` : ""}`,
  output_truncated: (e) => `${e.dropped} bytes of ${e.stream} not kept`,
};

function runPage() {
  const id = document.body.dataset.run;
  const timeline = document.getElementById("timeline");
  const steps = new Map();

  function stepBlock(number) {
    return steps.get(number);
  }

  function add(record) {
    if (record.kind === "output") {
      const block = stepBlock(record.step);
      if (block) block.output.textContent += record.text;
      return;
    }
    if (record.kind === "step_finished") {
      const block = stepBlock(record.step);
      if (block) {
        const seconds = record.duration ? ` in ${humanDuration(record.duration)}` : "";
        setState(block.outcome, record.outcome);
        block.outcome.title = record.reason || "";
        block.result.textContent = `${record.outcome}${record.exit_code !== undefined && record.exit_code !== null ? `, exit ${record.exit_code}` : ""}${seconds}${record.reason ? ` — ${record.reason}` : ""}`;
      }
      return;
    }
    const when = element("span", { class: "when" }, (record.at || "").replace("T", " ").replace(/\.\d+Z$/, "Z"));
    const describe = kinds[record.kind] || ((e) => e.kind);
    if (record.kind === "step_started") {
      const outcome = element("span", { class: "state running" }, "running");
      const output = element("pre", { class: "output", "aria-label": `output of step ${record.id}` });
      const command = element("pre", { class: "command" }, record.command || "");
      const result = element("span", { class: "muted" });
      const item = element("li", { class: "step", id: `step-${record.step}` },
        when, element("strong", {}, describe(record)), " ", outcome, " ", result, command, output);
      steps.set(record.step, { outcome, output, result });
      timeline.append(item);
      return;
    }
    timeline.append(element("li", {}, when, describe(record)));
    if (record.kind === "run_finished") setState(document.getElementById("status"), record.status);
  }

  const panel = document.getElementById("question");
  function ask(question) {
    const form = document.getElementById("question-form");
    const error = document.getElementById("question-error");
    const shown = document.getElementById("question-shown");
    error.textContent = "";
    form.replaceChildren();
    if (!question) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    document.getElementById("question-prompt").textContent =
      question.kind === "acknowledge" ? `Manual step: ${question.prompt}` : question.prompt;
    shown.hidden = !question.shown;
    shown.textContent = question.shown || "";
    const answer = async (body, url) => {
      error.textContent = "";
      try {
        await post(url || `/api/runs/${id}/answer`, { question: question.id, ...body });
      } catch (failure) {
        error.textContent = failure.message;
      }
    };
    const decline = element("button", { type: "button" }, "Decline (stop the run)");
    decline.addEventListener("click", () => answer({ accepted: false }));
    if (question.kind === "destructive") {
      const input = element("input", { id: "typed", autocomplete: "off", required: true, spellcheck: "false" });
      const label = element("label", { for: "typed" }, `This step is destructive. Type `, element("strong", {}, question.expected), " to confirm:");
      const confirm = element("button", { type: "submit", class: "danger" }, "Confirm destructive step");
      form.append(label, input, " ", confirm, " ", decline);
      form.onsubmit = (event) => { event.preventDefault(); answer({ accepted: true, typed: input.value }); };
      input.focus();
    } else if (question.kind === "choose") {
      question.options.forEach((option, index) => {
        const button = element("button", { type: "button" }, `Option ${option.label}: ${option.title}`);
        button.addEventListener("click", () => answer({ accepted: true, choice: index }));
        form.append(button, " ");
      });
      form.append(decline);
    } else if (question.kind === "acknowledge") {
      const done = element("button", { type: "submit", class: "primary" }, "Done");
      form.append(done, " ", decline);
      form.onsubmit = (event) => { event.preventDefault(); answer({}, `/api/runs/${id}/acknowledge`); };
      done.focus();
    } else {
      const yes = element("button", { type: "submit", class: "primary" }, "Yes, run it");
      form.append(yes, " ", decline);
      form.onsubmit = (event) => { event.preventDefault(); answer({ accepted: true }); };
      yes.focus();
    }
  }

  const abort = document.getElementById("abort");
  if (abort) {
    abort.addEventListener("click", async () => {
      if (!window.confirm("Abort this run? The running step is stopped.")) return;
      try { await post(`/api/runs/${id}/abort`); } catch (failure) { abort.title = failure.message; }
    });
  }

  const source = new EventSource(`/api/runs/${id}/stream`);
  source.addEventListener("journal", (event) => add(JSON.parse(event.data)));
  source.addEventListener("question", (event) => ask(JSON.parse(event.data)));
  source.addEventListener("end", (event) => {
    const end = JSON.parse(event.data);
    setState(document.getElementById("status"), end.status);
    ask(null);
    if (abort) abort.hidden = true;
    source.close();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "overview" || page === "runbook" || page === "runs") followChecks();
  if (page === "runbook") runbookPage();
  if (page === "run") runPage();
});
