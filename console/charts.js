// The `loyalty report` charts drawn live in SVG: segment shares over the months, tiers over the
// months, the migration heatmap, revenue per segment. Colours are tools/loyalty_tools/charts.py's
// (tests/unit/test_console_files.py keeps them equal).
import { h, svg } from "./dom.js";
import { number } from "./i18n.js";

export const SEGMENT_COLOURS = {
  "Champions": "#2ca02c",
  "Loyal": "#1f77b4",
  "Potential loyalists": "#17becf",
  "New": "#bcbd22",
  "Promising": "#e377c2",
  "Need attention": "#ff7f0e",
  "About to sleep": "#8c564b",
  "At risk": "#d62728",
  "Can't lose them": "#9467bd",
  "Dormant, worth winning back": "#6b6ecf",
  "Dormant": "#393b79",
  "Hibernating": "#7f7f7f",
  "Lost": "#252525",
  "Engaged non-buyers": "#9edae5",
  "Others": "#d9d9d9",
};
export const SPARE_COLOURS = ["#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d"];
export const TIER_COLOURS = ["#c7c7c7", "#9fb3c8", "#d4af37", "#222222", "#7b3294"];

export function colours(names, fixed = SEGMENT_COLOURS, spare = SPARE_COLOURS) {
  let i = 0;
  return Object.fromEntries(names.map((n) => [n, fixed[n] || spare[i++ % spare.length]]));
}

function legend(names, palette) {
  return h("ul", { class: "legend" }, names.map((n) => h("li", {}, svg("svg", { class: "swatch", width: 12, height: 12, "aria-hidden": "true" }, svg("rect", { width: 12, height: 12, fill: palette[n] })), n)));
}

// One bar per period, each stacked to 100 % of its customers.
export function stackedShares(id, title, periods, counts, order, palette, unit) {
  const width = 760, row = 22, left = 70, top = 6;
  const height = top + periods.length * row + 6;
  const bars = periods.map((period, i) => {
    const data = counts[period] || {};
    const total = Object.values(data).reduce((a, b) => a + b, 0) || 1;
    let x = left;
    const y = top + i * row;
    const parts = order.filter((n) => data[n]).map((n) => {
      const w = ((width - left - 4) * data[n]) / total;
      const rect = svg("rect", { x, y, width: Math.max(w, 0.5), height: row - 6, fill: palette[n] },
        svg("title", {}, `${period} · ${n}: ${number(data[n])} ${unit} (${((100 * data[n]) / total).toFixed(1)} %)`));
      x += w;
      return rect;
    });
    return [svg("text", { x: 0, y: y + row - 10, "font-size": 12 }, period), ...parts];
  });
  return h("figure", { class: "chart panel", id },
    h("figcaption", {}, h("h3", {}, title)),
    svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": title }, bars),
    legend(order.filter((n) => periods.some((p) => (counts[p] || {})[n])), palette));
}

// Rows: last month's segment; columns: this month's; the darker, the more customers.
export function heatmap(id, title, before, after, matrix) {
  const cell = 34, left = 190, top = 120;
  const max = Math.max(1, ...before.flatMap((b) => after.map((a) => (matrix[b] || {})[a] || 0)));
  const width = left + after.length * cell + 110, height = top + before.length * cell + 4;
  const heads = after.map((a, j) =>
    svg("text", { x: left + j * cell + cell / 2, y: top - 6, "font-size": 11, transform: `rotate(-50 ${left + j * cell + cell / 2} ${top - 6})` }, a));
  const rows = before.map((b, i) => [
    svg("text", { x: left - 6, y: top + i * cell + cell / 2 + 4, "font-size": 11, "text-anchor": "end" }, b),
    ...after.map((a, j) => {
      const n = (matrix[b] || {})[a] || 0;
      const shade = n ? 0.12 + 0.88 * (n / max) : 0;
      return svg("g", {},
        svg("rect", { x: left + j * cell, y: top + i * cell, width: cell - 2, height: cell - 2, fill: n ? `rgba(31,78,121,${shade.toFixed(3)})` : "#f0f0f0" },
          svg("title", {}, `${b} → ${a}: ${number(n)}`)),
        n ? svg("text", { x: left + j * cell + cell / 2 - 1, y: top + i * cell + cell / 2 + 3, "font-size": 10, "text-anchor": "middle", fill: shade > 0.5 ? "#fff" : "#111" }, number(n)) : null);
    }),
  ]);
  return h("figure", { class: "chart panel", id },
    h("figcaption", {}, h("h3", {}, title)),
    svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": title }, heads, rows));
}

// Horizontal bars, one per name (revenue per segment).
export function bars(id, title, rows, palette, format) {
  const width = 760, row = 22, left = 190;
  const max = Math.max(1, ...rows.map(([, v]) => v));
  const height = rows.length * row + 8;
  return h("figure", { class: "chart panel", id },
    h("figcaption", {}, h("h3", {}, title)),
    svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": title },
      rows.map(([name, value, label], i) => [
        svg("text", { x: left - 6, y: i * row + 15, "font-size": 12, "text-anchor": "end" }, name),
        svg("rect", { x: left, y: i * row + 3, width: Math.max(1, ((width - left - 110) * value) / max), height: row - 6, fill: palette[name] }),
        svg("text", { x: left + ((width - left - 110) * value) / max + 6, y: i * row + 15, "font-size": 12 }, format(label ?? value)),
      ])));
}
