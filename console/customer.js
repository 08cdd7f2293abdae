// The Customer page: find a card, read it (card, ledger, transactions, vouchers, paginated), act on it
// (support only: adjust, block or unblock, cancel a voucher, erase), each with a confirmation and a
// reason. Every action is the API route any client calls.
import { call, card, newId } from "./api.js";
import { h, field, table } from "./dom.js";
import { t, number, date } from "./i18n.js";

let lastId = ""; // the card on screen, kept across a language switch
const PAGE = 10;

export function customerPage(ctx) {
  const input = h("input", { type: "search", id: "card-search", inputmode: "numeric", autocomplete: "off", required: true, value: lastId });
  const out = h("div", { id: "customer" });
  const form = h(
    "form",
    { class: "search", role: "search" },
    field(t("customer.search"), input),
    h("button", { type: "submit", id: "find" }, t("customer.find")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    lastId = input.value.trim();
    show(out, lastId, ctx);
  });
  if (lastId) show(out, lastId, ctx);
  return h("section", { "aria-labelledby": "customer-h" }, h("h2", { id: "customer-h" }, t("customer.title")), form, out);
}

async function show(out, id, ctx) {
  out.replaceChildren(h("p", {}, t("loading")));
  let answer;
  try {
    answer = await call("GET", card(id));
  } catch (error) {
    out.replaceChildren(h("p", { class: "error", id: "card-missing" }, error.status === 404 ? t("customer.notfound", { id }) : ctx.problem(error)));
    return;
  }
  const ledger = list("ledger", t("ledger.title"), card(id) + "/points-history", ledgerRow, ["col.date", "col.kind", "col.points", "col.balance", "col.ref"], ctx);
  const txs = list("transactions", t("tx.title"), card(id) + "/transactions", txRow, ["col.date", "col.type", "col.amount", "col.points", "col.store"], ctx);
  const refresh = () => show(out, id, ctx);
  const vouchers = list("vouchers", t("vouchers.title"), card(id) + "/vouchers", (v) => voucherRow(v, id, ctx, refresh),
    ["col.code", "col.status", "col.value", "col.points", "col.expires", ...(ctx.group === "support" ? ["col.action"] : [])], ctx);
  out.replaceChildren(
    cardView(answer),
    ctx.group === "support" ? actions(answer, ctx, refresh) : h("p", { class: "note" }, t("marketing.readonly")),
    ledger,
    txs,
    vouchers,
  );
}

function dl(pairs) {
  return h("dl", {}, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function cardView(c) {
  const expiring = (c.points_expiring || []).map((e) => `${number(e.points)} (${date(e.expires_on)})`).join(", ") || t("card.none");
  const progress = c.next_tier
    ? Object.entries(c.to_next_tier || {}).map(([k, v]) => `${k} ${v}`).join(", ")
    : t("card.top");
  const consents = Object.entries(c.consents || {}).map(([k, v]) => `${t("channel." + k)} ${v ? t("consent.yes") : t("consent.no")}`).join(", ");
  return h(
    "section",
    { class: "panel", id: "card", "aria-labelledby": "card-h" },
    h("h3", { id: "card-h" }, t("card.title", { id: c.customer_id })),
    dl([
      [t("card.balance"), h("span", { id: "balance" }, number(c.points_balance))],
      [t("card.pending"), number(c.points_pending || 0)],
      [t("card.expiring"), expiring],
      [t("card.tier"), c.tier],
      [c.next_tier ? t("card.progress", { tier: c.next_tier }) : t("card.tier"), progress],
      [t("card.segment"), c.segment || "–"],
      [t("card.rfm"), c.rfm ? `${c.rfm.r}/${c.rfm.f}/${c.rfm.m}` : "–"],
      [t("card.palive"), c.p_alive || "–"],
      [t("card.spend"), `${c.spend_12m} ${c.currency}`],
      [t("card.visits"), number(c.visits_12m)],
      [t("card.last"), date(c.last_purchase_at)],
      [t("card.consents"), consents || "–"],
      [t("card.status"), h("span", { id: "card-status" }, t("status." + c.status))],
    ]),
  );
}

function list(name, title, path, row, headers, ctx) {
  const body = h("tbody", {});
  const more = h("button", { type: "button", class: "more", id: name + "-more", hidden: true }, t("more"));
  const section = h(
    "section",
    { class: "panel", id: name, "aria-labelledby": name + "-h" },
    h("h3", { id: name + "-h" }, title),
    h("table", {}, h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, t(x))))), body),
    more,
  );
  let cursor = null;
  const load = async () => {
    const query = `?limit=${PAGE}` + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
    try {
      const page = await call("GET", path + query);
      for (const item of page.items) body.append(h("tr", {}, row(item).map((c) => h("td", {}, c))));
      if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: headers.length }, t("empty"))));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      section.dataset.loaded = "true";
    } catch (error) {
      ctx.say(ctx.problem(error), "error");
    }
  };
  more.addEventListener("click", load);
  load();
  return section;
}

function ledgerRow(e) {
  const ref = e.transaction_id || e.redemption_id || e.adjustment_id || e.period || "";
  return [date(e.at), t("kind." + e.kind), (e.points > 0 ? "+" : "") + number(e.points), number(e.balance_after), ref];
}

function txRow(x) {
  return [date(x.occurred_at), t("type." + x.type), `${x.amount} ${x.currency}`, number(x.points_earned), x.store_id || x.channel || ""];
}

function voucherRow(v, id, ctx, refresh) {
  const cells = [v.code, t("voucher." + v.status), `${v.value} ${v.currency}`, number(v.points), date(v.expires_on)];
  if (ctx.group === "support") {
    cells.push(
      v.status === "issued"
        ? h("button", { type: "button", class: "cancel-voucher", "aria-label": t("action.cancel.voucher", { code: v.code }),
            onclick: () => confirmAction({
              message: t("confirm.cancel", { code: v.code }),
              run: (reason) => call("POST", `/v1/vouchers/${encodeURIComponent(v.code)}/cancel`, undefined, reason),
              done: (a) => t("done.cancel", { points: number(a.points_returned) }),
              ctx, after: refresh,
            }) }, t("action.cancel"))
        : "",
    );
  }
  return cells;
}

const REASONS = ["goodwill", "correction", "migration", "promotion", "other"];

function actions(c, ctx, refresh) {
  const points = h("input", { type: "number", id: "adjust-points", step: "1", required: true });
  const reason = h("select", { id: "adjust-reason" }, REASONS.map((r) => h("option", { value: r }, t("reason." + r))));
  const adjust = h("form", { id: "adjust" }, field(t("adjust.points"), points), field(t("adjust.reason"), reason),
    h("button", { type: "submit" }, t("action.adjust")));
  adjust.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = Number.parseInt(points.value, 10);
    confirmAction({
      message: t("confirm.adjust", { points: number(value), id: c.customer_id }),
      run: (note) => call("POST", card(c.customer_id) + "/adjustments",
        { adjustment_id: newId("console"), points: value, reason: reason.value, note }),
      done: (a) => t("done.adjust", { points: number(a.points), balance: number(a.points_balance) }),
      ctx, after: refresh,
    });
  });
  const blocked = c.status === "blocked";
  const block = h("button", { type: "button", id: blocked ? "unblock" : "block", onclick: () => confirmAction({
    message: t(blocked ? "confirm.unblock" : "confirm.block", { id: c.customer_id }),
    run: (note) => call("PATCH", card(c.customer_id), { status: blocked ? "active" : "blocked" }, note),
    done: () => t(blocked ? "done.unblock" : "done.block"),
    ctx, after: refresh,
  }) }, t(blocked ? "action.unblock" : "action.block"));
  const erase = h("button", { type: "button", id: "erase", class: "danger", onclick: () => confirmAction({
    message: t("confirm.erase", { id: c.customer_id }),
    typeToConfirm: c.customer_id,
    run: (note) => call("DELETE", card(c.customer_id), undefined, note),
    done: () => t("done.erase", { id: c.customer_id }),
    ctx, after: refresh,
  }) }, t("action.erase"));
  return h("section", { class: "panel", id: "actions", "aria-labelledby": "actions-h" },
    h("h3", { id: "actions-h" }, t("actions.title")), adjust, h("div", { class: "row" }, block, erase));
}

// A modal confirmation (the native <dialog>: focus kept inside, Escape closes) asking the reason,
// and for an erasure the card number typed again.
function confirmAction({ message, run, done, ctx, after, typeToConfirm }) {
  const note = h("textarea", { id: "confirm-reason", rows: 2, maxlength: 500, required: true });
  const typed = typeToConfirm ? h("input", { id: "confirm-card", autocomplete: "off", required: true }) : null;
  const error = h("p", { class: "error", id: "confirm-error", role: "alert" });
  const dialog = h("dialog", { id: "confirm", "aria-labelledby": "confirm-h" },
    h("form", { method: "dialog" },
      h("h2", { id: "confirm-h" }, t("confirm.title")),
      h("p", { id: "confirm-message" }, message),
      field(t("action.note"), note),
      typed && field(t("confirm.type"), typed),
      error,
      h("div", { class: "row" },
        h("button", { type: "submit", value: "ok", id: "confirm-ok" }, t("confirm.ok")),
        h("button", { type: "button", id: "confirm-back", onclick: () => dialog.close() }, t("confirm.back")))));
  dialog.addEventListener("close", () => dialog.remove());
  dialog.querySelector("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!note.value.trim()) return (error.textContent = t("confirm.reason.needed"));
    if (typed && typed.value.trim() !== typeToConfirm) return (error.textContent = t("confirm.mismatch"));
    try {
      const answer = await run(note.value.trim());
      dialog.close();
      ctx.say(done(answer || {}), "ok");
      after();
    } catch (e) {
      error.textContent = ctx.problem(e);
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  note.focus();
}
