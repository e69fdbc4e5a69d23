// Submits the quiz form to the JSON API and shows the score and the feedback in place.
// Without JavaScript the form posts to /quiz/ID/submit instead (CSRF-checked).
"use strict";
(function () {
  const form = document.getElementById("quiz-form");
  if (!form) { return; }
  const results = document.getElementById("results");
  const t = results.dataset;
  const errorBox = document.getElementById("error");

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function fmt(x) { return String(Math.round(x * 100) / 100); }
  // "17 / 19" in a right-to-left page reads "19 / 17" unless it is a left-to-right isolate
  function ltr(e) { e.dir = "ltr"; return e; }

  // A number as the server reads one (scoring._number): a decimal comma, the minus sign
  // U+2212 and a right-to-left keyboard's direction marks are allowed.
  const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
  function typedNumber(text) {
    const v = text.replace(/[\u200e\u200f\u2066-\u2069]/g, "").replace(",", ".")
      .replace("\u2212", "-").trim();
    return NUMBER.test(v) ? v : null;
  }

  class NotANumber extends Error {}

  // The answers to send; a NotANumber naming the question when a number cannot be read (nothing
  // is sent then: a stored attempt would score it as unanswered).
  function collect() {
    const answers = {};
    for (const fs of form.querySelectorAll("fieldset.question")) {
      const qid = fs.id.slice(2);
      if (fs.dataset.type === "numeric") {
        const input = fs.querySelector("input");
        const v = input.value.trim();
        input.removeAttribute("aria-invalid");
        if (v === "") { continue; }
        if (typedNumber(v) === null) {
          input.setAttribute("aria-invalid", "true");
          input.focus();
          const n = fs.querySelector(".qnum").textContent.replace(".", "");
          throw new NotANumber(t.notANumber.replace("{n}", n).replace("{value}", v));
        }
        answers[qid] = v;  // as typed: the server reads it the same way
      } else {
        const chosen = Array.from(fs.querySelectorAll("input:checked")).map((i) => i.value);
        if (chosen.length) { answers[qid] = chosen; }
      }
    }
    return answers;
  }

  function show(view) {
    const box = el("section", "result");
    box.id = "result-" + view.attempt;
    const h = el("h2", null, t.attempt + " " + view.attempt + ": ");
    h.appendChild(ltr(el("span", "score", fmt(view.score) + " / " + fmt(view.max_score))));
    box.appendChild(h);
    const left = el("p", "attempts", t.attemptsLeft + ": " + view.attempts_left);
    box.appendChild(left);
    if (!view.feedback_available) {
      box.appendChild(el("p", "deferred", t.deferred));
    } else {
      const list = el("ol", "feedback");
      for (const q of view.questions) {
        const li = el("li", "q-result " + (q.correct ? "right" : "wrong"));
        li.dataset.question = q.id;
        li.appendChild(ltr(el("span", "q-score", fmt(q.score) + " / " + fmt(q.max_score))));
        if (q.options) {
          const ul = el("ul");
          for (const o of q.options) {
            const oli = el("li", "opt" + (o.chosen ? " chosen" : "") + (o.correct ? " is-correct" : ""));
            const span = el("span", "opt-text", o.text);
            span.dir = document.documentElement.dir || "auto";  // the page's direction
            oli.appendChild(span);
            if (o.chosen) { oli.appendChild(el("em", null, " (" + t.your + ")")); }
            if (o.correct) { oli.appendChild(el("strong", null, " (" + t.correct + ")")); }
            oli.appendChild(el("div", "opt-feedback", o.feedback));
            ul.appendChild(oli);
          }
          li.appendChild(ul);
        } else {
          const given = q.answer === null ? t.unanswered : q.answer;
          const line = el("p", null, t.your + ": ");
          line.appendChild(el("bdi", null, given));
          line.appendChild(document.createTextNode("; " + t.expected + ": "));
          line.appendChild(el("bdi", null, q.expected));
          li.appendChild(line);
          li.appendChild(el("div", "opt-feedback", q.feedback));
        }
        list.appendChild(li);
      }
      box.appendChild(list);
    }
    results.prepend(box);
    document.getElementById("attempts-left").textContent = String(view.attempts_left);
    if (view.attempts_left <= 0) { form.hidden = true; }
    box.scrollIntoView();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = document.getElementById("submit");
    button.disabled = true;
    errorBox.hidden = true;
    try {
      const answers = collect();
      show(await send(answers));
      form.elements.submission.value = newKey();  // the next submission is a new attempt
    } catch (err) {
      errorBox.textContent = err instanceof NotANumber ? err.message : t.error + ": " + err.message;
      errorBox.hidden = false;
    } finally {
      button.disabled = false;
    }
  });

  // A random key per submission: resent after a lost answer or a 503, it is stored only once.
  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function pause(seconds) {
    return new Promise((resolve) => { setTimeout(resolve, 1000 * seconds); });
  }

  // POST the answers; a busy or restarting server (503, no answer) is tried again, same key.
  async function send(answers) {
    const body = JSON.stringify({ answers: answers, lang: form.elements.lang.value });
    for (let round = 0; ; round++) {
      let response;
      try {
        response = await fetch(form.dataset.api, {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            "Authorization": "Bearer " + form.elements.token.value,
            "Idempotency-Key": form.elements.submission.value,
          },
          body: body,
        });
      } catch (err) {
        if (round >= 4) { throw err; }
        await pause(2);
        continue;
      }
      if (response.status === 503 && round < 4) {
        await pause(Math.min(10, Number(response.headers.get("Retry-After")) || 2));
        continue;
      }
      const data = await response.json();
      if (!response.ok) { throw new Error(data.detail || response.statusText); }
      return data;
    }
  }
})();
