// The API as any client calls it: same routes, the signed-in user's token (the Cognito ID token in
// AWS, the local sign-in's token on `make local`). The page hides what a group may not do; the API
// refuses it anyway (loyalty.api.access).
const SESSION = "loyalty-console-session";

export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION) || "null");
    return s && s.expires * 1000 > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export function keep(s) {
  sessionStorage.setItem(SESSION, JSON.stringify(s));
}

export function signOut() {
  sessionStorage.removeItem(SESSION);
}

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

async function answer(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { error: { code: "not_json", message: text.slice(0, 200) } };
  }
  if (!response.ok) {
    const e = (body && body.error) || { code: "http_" + response.status, message: (body && body.message) || "" };
    throw new ApiError(response.status, e.code, e.message, e.details);
  }
  return body;
}

export async function signIn(key, group) {
  const response = await fetch("sign-in", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ key, group }),
  });
  const body = await answer(response);
  sessionStorage.setItem(SESSION, JSON.stringify(body));
  return body;
}

// The API's base: the console is served at <base>/admin, the API at <base>/v1/... (same origin).
const BASE = new URL("..", document.baseURI).pathname.replace(/\/$/, "");

export async function call(method, path, body, reason) {
  const s = session();
  const headers = { authorization: "Bearer " + (s ? s.token : "") };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (reason) headers["x-back-office-reason"] = encodeURIComponent(reason).slice(0, 500);
  const response = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return answer(response);
}

export const card = (id) => "/v1/customers/" + encodeURIComponent(id);

export function newId(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return prefix + "-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
