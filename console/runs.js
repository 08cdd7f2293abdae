// The Runs page: each monthly run's summary (GET /v1/back-office/runs), drawn as `loyalty report` does.
import { call } from "./api.js";
import { h } from "./dom.js";
import { t, number } from "./i18n.js";
import { bars, colours, heatmap, stackedShares, TIER_COLOURS } from "./charts.js";

export function runsPage(ctx) {
  const out = h("div", { id: "runs" }, h("p", {}, t("loading")));
  load(out, ctx);
  return h("section", { "aria-labelledby": "runs-h" }, h("h2", { id: "runs-h" }, t("runs.title")), out);
}

async function load(out, ctx) {
  let runs, programme;
  try {
    [{ runs }, { programme }] = await Promise.all([call("GET", "/v1/back-office/runs"), call("GET", "/v1/back-office/programme")]);
  } catch (error) {
    out.replaceChildren(h("p", { class: "error" }, ctx.problem(error)));
    return;
  }
  if (!runs.length) {
    out.replaceChildren(h("p", { id: "no-runs" }, t("runs.none")));
    out.dataset.loaded = "true";
    return;
  }
  const segmentsOf = (p) => [...((p.segments || {}).rules || []).map((r) => r.name), (p.segments || {}).fallback || "Others"];
  const periods = runs.map((r) => r.period);
  const byPeriod = (key) => Object.fromEntries(runs.map((r) => [r.period, (r.after || {})[key] || {}]));
  const seen = new Set(runs.flatMap((r) => Object.keys((r.after || {}).segments || {})));
  const order = [...segmentsOf(programme).filter((n) => seen.has(n)), ...[...seen].filter((n) => !segmentsOf(programme).includes(n)).sort()];
  const palette = colours(order);
  const tierNames = (programme.tiers || []).map((x) => x.name);
  const tierPalette = colours(tierNames, {}, TIER_COLOURS);
  const last = runs[runs.length - 1];
  const matrix = last.migration || {};
  const before = [...Object.keys(matrix)].sort((a, b) => rank(order, a) - rank(order, b));
  const after = order.filter((n) => Object.values(matrix).some((row) => row[n]));
  const previous = runs.length > 1 ? runs[runs.length - 2].period : "–";
  const currency = programme.currency || "EUR";
  // Decimal strings in the programme's currency: the bars' lengths from them, the labels as sent.
  const revenue = Object.entries(last.revenue_12m || {}).map(([n, v]) => [n, Number(v), v]).sort((a, b) => b[1] - a[1]);
  out.replaceChildren(
    stackedShares("segments-chart", t("runs.segments"), periods, byPeriod("segments"), order, palette, t("runs.customers")),
    stackedShares("tiers-chart", t("runs.tiers"), periods, byPeriod("tiers"), tierNames, tierPalette, t("runs.customers")),
    heatmap("migration-heatmap", t("runs.migration", { before: previous, after: last.period }), before, after, matrix),
    experiments(runs),
    bars("revenue-chart", t("runs.revenue", { period: last.period }), revenue, palette,
      (exact) => `${exact} ${currency}`),
  );
  out.dataset.loaded = "true";
}

function rank(order, name) {
  const i = order.indexOf(name);
  return i < 0 ? -1 : i;
}

// Per experiment and cohort, the last measured month: treatment against holdout, and the uplift.
function experiments(runs) {
  const latest = {};
  for (const run of runs) {
    for (const [name, cohorts] of Object.entries(run.experiments || {})) {
      for (const [segment, m] of Object.entries(cohorts)) latest[`${name}\u0000${segment}`] = { name, segment, period: run.period, m };
    }
  }
  const entries = Object.values(latest);
  const section = h("section", { class: "panel", id: "experiments", "aria-labelledby": "exp-h" }, h("h3", { id: "exp-h" }, t("runs.experiments")));
  if (!entries.length) {
    section.append(h("p", {}, t("runs.noexp")));
    return section;
  }
  for (const { name, segment, period, m } of entries) {
    const success = Object.keys(m.uplift || {});
    const rate = (group, s) => {
      const g = m[group] || {};
      return g.customers ? `${((100 * ((g.moved_to || {})[s] || 0)) / g.customers).toFixed(1)} %` : "–";
    };
    const head = [t("exp.group"), t("exp.customers"), ...success.map((s) => t("exp.rate", { segment: s }))];
    const rows = ["treatment", "holdout"].map((g) => [t("exp." + g), number((m[g] || {}).customers || 0), ...success.map((s) => rate(g, s))]);
    rows.push([t("exp.uplift"), "", ...success.map((s) => {
      const u = m.uplift[s];
      return `${(100 * u.difference).toFixed(1)} pts [${(100 * u.ci95_low).toFixed(1)}; ${(100 * u.ci95_high).toFixed(1)}]`;
    })]);
    section.append(h("table", {},
      h("caption", {}, t("exp.cohort", { experiment: name, segment, period })),
      h("thead", {}, h("tr", {}, head.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c)))))));
  }
  return section;
}
