// The Programme page: the programme in force in words (GET /v1/back-office/programme), and a candidate
// file checked by the loader itself (POST /v1/back-office/programme/validate): its message names the
// key it got wrong; a valid candidate shows what it changes.
import { call } from "./api.js";
import { h, field } from "./dom.js";
import { t, number } from "./i18n.js";
import { heatmap } from "./charts.js";

let current = null;

export function programmePage(ctx) {
  const words = h("div", { id: "programme-words" }, h("p", {}, t("loading")));
  const file = h("input", { type: "file", id: "candidate-file", accept: ".json,application/json" });
  const result = h("div", { id: "candidate-result", "aria-live": "polite" });
  const form = h("form", { class: "panel", id: "candidate" },
    h("h3", {}, t("programme.upload")), field(t("programme.file"), file),
    h("button", { type: "submit", id: "candidate-check" }, t("programme.check")), result);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    check(file, result, ctx);
  });
  call("GET", "/v1/back-office/programme").then(
    ({ programme }) => { current = programme; words.replaceChildren(describe(programme)); words.dataset.loaded = "true"; },
    (error) => words.replaceChildren(h("p", { class: "error" }, ctx.problem(error))),
  );
  return h("section", { "aria-labelledby": "programme-h" },
    h("h2", { id: "programme-h" }, t("programme.title")),
    h("section", { class: "panel", "aria-labelledby": "current-h" }, h("h3", { id: "current-h" }, t("programme.current")), words),
    form);
}

async function check(file, result, ctx) {
  result.replaceChildren();
  const chosen = file.files && file.files[0];
  if (!chosen) return;
  let candidate;
  try {
    candidate = JSON.parse(await chosen.text());
  } catch (error) {
    result.replaceChildren(h("p", { class: "error", id: "candidate-error" }, t("programme.badjson", { message: error.message })));
    return;
  }
  try {
    const answer = await call("POST", "/v1/back-office/programme/validate", candidate);
    const report = h("div", { id: "whatif" }, h("p", {}, t("programme.whatif.running")));
    result.replaceChildren(
      h("p", { id: "candidate-valid" }, t("programme.valid")),
      h("h4", {}, t("programme.diff")), changes(current || {}, answer.programme),
      h("h4", {}, t("programme.whatif")), report);
    whatIf(candidate, answer.programme, report, ctx);
  } catch (error) {
    const message = error.status === 422 ? error.message : ctx.problem(error);
    result.replaceChildren(h("p", {}, t("programme.invalid")), h("pre", { class: "loader", id: "candidate-error" }, message));
  }
}

// The what-if run (the monthly run's steps as a dry run: nothing written, nothing published), through
// the API as in AWS: POST starts it (the same candidate and month answer the same id), then the page
// polls GET .../what-if/{id} until the report is there. As of the day after the last run's month, so
// that "current" is what that run left.
const POLL_MS = 2000;
const WAIT_MS = 20 * 60 * 1000; // past this the page stops asking; the run goes on in AWS

const pause = (ms) => new Promise((done) => setTimeout(done, ms));

async function whatIf(candidate, programme, out, ctx) {
  let asOf = new Date().toISOString().slice(0, 10);
  try {
    const { runs } = await call("GET", "/v1/back-office/runs");
    if (runs.length) {
      const [y, m] = runs[runs.length - 1].period.split("-").map(Number);
      asOf = `${m === 12 ? y + 1 : y}-${String((m % 12) + 1).padStart(2, "0")}-01`;
    }
    const started = await call("POST", `/v1/back-office/programme/what-if?as_of=${asOf}`, candidate);
    const progress = h("p", { id: "whatif-progress", role: "status" },
      t("programme.whatif.started", { id: started.what_if_id, period: started.period }));
    out.replaceChildren(progress);
    const since = Date.now();
    for (;;) {
      const answer = await call("GET", started.poll);
      if (answer.status === "SUCCEEDED") {
        out.replaceChildren(whatIfReport(answer.report, programme));
        out.dataset.loaded = "true";
        return;
      }
      if (Date.now() - since > WAIT_MS) {
        out.replaceChildren(h("p", { id: "whatif-timeout" }, t("programme.whatif.timeout", { id: started.what_if_id, minutes: WAIT_MS / 60000 })));
        return;
      }
      await pause(POLL_MS);
      progress.textContent = t("programme.whatif.polling", { id: started.what_if_id, seconds: Math.round((Date.now() - since) / 1000) });
    }
  } catch (error) {
    const failed = error.status === 409 || error.status === 422;
    out.replaceChildren(h("p", { class: "error", id: "whatif-error" },
      failed ? t("programme.whatif.failed", { message: error.message }) : error.status === 503 ? t("programme.whatif.how") : ctx.problem(error)));
  }
}

function sideBySide(title, id, before, after, order) {
  const names = [...order.filter((n) => n in before || n in after), ...Object.keys({ ...before, ...after }).filter((n) => !order.includes(n)).sort()];
  const total = (o) => Object.values(o).reduce((a, b) => a + b, 0) || 1;
  const share = (n, o) => `${((100 * (o[n] || 0)) / total(o)).toFixed(1)} %`;
  return h("table", { id },
    h("caption", {}, title),
    h("thead", {}, h("tr", {}, ["", t("whatif.current"), t("whatif.share"), t("whatif.candidate"), t("whatif.share"), t("whatif.change")].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, names.map((n) => h("tr", {},
      [n, number(before[n] || 0), share(n, before), number(after[n] || 0), share(n, after), ((after[n] || 0) - (before[n] || 0) >= 0 ? "+" : "") + number((after[n] || 0) - (before[n] || 0))]
        .map((c) => h("td", {}, c))))));
}

function whatIfReport(r, programme) {
  const segments = [...((programme.segments || {}).rules || []).map((x) => x.name), (programme.segments || {}).fallback || "Others"];
  const tiers = (programme.tiers || []).map((x) => x.name);
  const matrix = r.migration || {};
  const after = segments.filter((n) => Object.values(matrix).some((row) => row[n]));
  const before = Object.keys(matrix).sort((a, b) => segments.indexOf(a) - segments.indexOf(b));
  const facts = [
    [t("whatif.period"), `${r.period} (${r.as_of})`],
    [t("whatif.customers"), number(r.customers)],
    [t("whatif.changed"), number(r.changed)],
    [t("whatif.expire"), number(r.points_expired)],
    ...Object.entries(r.events || {}).map(([kind, n]) => [t("whatif.events", { kind }), number(n)]),
    ...(r.cost ? [[t("whatif.cost"), `$${r.cost.total_usd.toFixed(2)}`]] : []),
  ];
  return h("div", {},
    h("p", {}, t("whatif.nothing")),
    h("dl", { id: "whatif-facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    sideBySide(t("whatif.segments"), "whatif-segments", r.before.segments, r.after.segments, segments),
    sideBySide(t("whatif.tiers"), "whatif-tiers", r.before.tiers, r.after.tiers, tiers),
    heatmap("whatif-migration", t("whatif.migration"), before, after, matrix));
}

function flatten(value, prefix = "", out = {}) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else out[prefix] = value;
  return out;
}

function changes(before, after) {
  const a = flatten(before), b = flatten(after);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
  if (!keys.length) return h("p", { id: "candidate-changes" }, t("programme.nodiff"));
  return h("ul", { id: "candidate-changes" }, keys.map((k) =>
    h("li", {}, t("programme.changed", { key: k, before: a[k] === undefined ? "–" : JSON.stringify(a[k]), after: b[k] === undefined ? "–" : JSON.stringify(b[k]) }))));
}

function range(v) {
  return Array.isArray(v) ? `${v[0]}–${v[1]}` : String(v);
}

function when(rule) {
  return Object.entries(rule.when || {}).map(([k, v]) => (typeof v === "boolean" ? `${k}: ${v ? t("consent.yes") : t("consent.no")}` : `${k.toUpperCase()} ${range(v)}`)).join(", ");
}

export function describe(p) {
  const currency = p.currency || "EUR";
  const earning = p.earning || {};
  const vouchers = p.vouchers || {};
  const expiry = p.expiry || {};
  const conds = (anyOf) => Object.entries(anyOf || {}).map(([k, v]) => t(
    { spend_12m: "programme.cond.spend", visits_12m: "programme.cond.visits", points_12m: "programme.cond.points" }[k] || "programme.cond.points",
    { value: typeof v === "number" ? number(v) : v, currency })).join(t("programme.or"));
  const segments = p.segments || {};
  return h("div", { class: "words" },
    h("p", {}, t("programme.zone", { zone: p.timezone || "Europe/Paris", currency })),
    h("p", {}, t("programme.earning", { points: earning.points_per_unit ?? 1, currency })),
    h("h4", {}, t("programme.tiers")),
    h("ul", { class: "tiers" }, (p.tiers || []).map((tier, i) => h("li", {},
      t("programme.tier", { name: tier.name, multiplier: tier.multiplier ?? 1 }), ", ",
      i === 0 || !tier.any_of ? t("programme.tier.first") : t("programme.tier.when", { conditions: conds(tier.any_of) })))),
    vouchers.block_points ? h("p", {}, t("programme.vouchers", { points: number(vouchers.block_points), value: vouchers.block_value, currency })) : null,
    expiry.months_without_purchase ? h("p", {}, t("programme.expiry", { months: expiry.months_without_purchase }))
      : Object.keys(expiry).length ? h("p", {}, t("programme.expiry.policy", { policy: JSON.stringify(expiry) })) : null,
    h("h4", {}, t("programme.segments")),
    h("ol", { class: "segments" }, (segments.rules || []).map((rule) => h("li", {},
      h("strong", {}, rule.name), ` (${when(rule)})`, rule.description ? ` — ${rule.description}` : ""))),
    h("p", {}, t("programme.fallback", { name: segments.fallback || "Others" })),
    h("p", { id: "programme-stability" }, stability(segments.stability || 0)));
}

// segments.stability (docs/reclassification.md "Stability"): absent is 0, the strict map every month.
function stability(steps) {
  if (!steps) return t("programme.stability.none");
  return steps === 1 ? t("programme.stability.one") : t("programme.stability", { steps: number(steps) });
}
