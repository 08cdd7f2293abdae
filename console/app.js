// The console's shell: sign-in, navigation (#/customer, #/runs, #/programme), language switch.
import { session, signIn, signOut, keep, ApiError } from "./api.js";
import { startCognito, finishCognito } from "./cognito.js";
import { h, field } from "./dom.js";
import { t, lang, setLang } from "./i18n.js";
import { customerPage } from "./customer.js";
import { runsPage } from "./runs.js";
import { programmePage } from "./programme.js";

const PAGES = {
  customer: { label: "nav.customer", render: customerPage, groups: ["support", "marketing"] },
  runs: { label: "nav.runs", render: runsPage, groups: ["marketing"] },
  programme: { label: "nav.programme", render: programmePage, groups: ["marketing"] },
};

const main = document.getElementById("main");

export function say(message, kind = "info") {
  const box = document.getElementById("status");
  box.textContent = message;
  box.dataset.kind = kind;
}

export function problem(error) {
  if (error instanceof ApiError) {
    if (error.status === 403) return t("error.forbidden", { message: error.message });
    return t("error.generic", { status: error.status, message: error.message });
  }
  return t("error.network");
}

function allowedPages(group) {
  return Object.keys(PAGES).filter((name) => PAGES[name].groups.includes(group));
}

function current() {
  const s = session();
  const pages = s ? allowedPages(s.group) : [];
  const wanted = (location.hash.match(/^#\/(\w+)/) || [])[1];
  return pages.includes(wanted) ? wanted : pages[0];
}

function chrome() {
  document.documentElement.lang = lang();
  document.title = t("app.title");
  document.getElementById("app-title").textContent = t("app.title");
  document.getElementById("skip").textContent = t("nav.label");
  document.getElementById("lang-label").textContent = t("lang.label");
  document.getElementById("lang").value = lang();
  const nav = document.getElementById("nav");
  nav.setAttribute("aria-label", t("nav.label"));
  const s = session();
  const here = current();
  nav.replaceChildren(
    ...(s ? allowedPages(s.group) : []).map((name) =>
      h("a", { href: "#/" + name, "aria-current": name === here ? "page" : false }, t(PAGES[name].label)),
    ),
  );
  const who = document.getElementById("who");
  who.replaceChildren(
    ...(s
      ? [
          h("span", {}, t("signed.as", { group: s.group })),
          h("button", { type: "button", id: "sign-out", onclick: () => { signOut(); render(); } }, t("signout")),
        ]
      : []),
  );
}

let config = { signIn: "local" };

function cognitoSignInPage() {
  return h("div", { class: "panel", id: "signin" }, h("h2", {}, t("signin.title")),
    h("button", { type: "button", id: "signin-cognito", onclick: () => startCognito(config) }, t("signin.submit")));
}

function signInPage() {
  if (config.signIn === "cognito") return cognitoSignInPage();
  const key = h("input", { type: "password", id: "signin-key", autocomplete: "current-password", required: true });
  const group = h(
    "select",
    { id: "signin-group" },
    h("option", { value: "support" }, t("signin.support")),
    h("option", { value: "marketing" }, t("signin.marketing")),
  );
  const form = h(
    "form",
    { class: "panel", id: "signin" },
    h("h2", {}, t("signin.title")),
    field(t("signin.key"), key),
    field(t("signin.group"), group),
    h("button", { type: "submit" }, t("signin.submit")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await signIn(key.value, group.value);
      say("");
      location.hash = "#/" + allowedPages(group.value)[0];
      render();
    } catch (error) {
      say(error instanceof ApiError && error.status === 401 ? t("signin.wrong") : problem(error), "error");
    }
  });
  return form;
}

export function render() {
  chrome();
  const s = session();
  if (!s) {
    main.replaceChildren(signInPage());
    return;
  }
  const page = current();
  main.replaceChildren(PAGES[page].render({ group: s.group, say, problem }));
}

document.getElementById("lang").addEventListener("change", (event) => {
  setLang(event.target.value);
  render();
});
window.addEventListener("hashchange", () => render());

// Which sign-in: config.json (local: the back-office key; AWS: the Cognito user pool).
fetch("config.json")
  .then((r) => r.json())
  .then(async (c) => {
    config = c;
    if (config.signIn === "cognito" && !session()) {
      const s = await finishCognito(config);
      if (s) keep(s);
    }
  })
  .catch(() => say(t("error.network"), "error"))
  .finally(render);
