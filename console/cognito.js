// Sign-in through the Cognito user pool in AWS: the pool's managed login with the authorization code
// flow and PKCE (no client secret in a browser). config.json, deployed beside the pages by CDK
// (infra/console.py), names the pool's domain and the app client; locally it says {"signIn": "local"}.
const VERIFIER = "loyalty-console-pkce";

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function startCognito(config) {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(VERIFIER, JSON.stringify({ verifier, state }));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const query = new URLSearchParams({
    response_type: "code", client_id: config.clientId, redirect_uri: config.redirectUri,
    scope: "openid email", state, code_challenge: challenge, code_challenge_method: "S256",
  });
  location.assign(`${config.domain}/oauth2/authorize?${query}`);
}

// Back from the managed login with ?code=...: the ID token, whose claims carry the user's groups.
export async function finishCognito(config) {
  const params = new URLSearchParams(location.search);
  const saved = JSON.parse(sessionStorage.getItem(VERIFIER) || "null");
  if (!params.get("code") || !saved || params.get("state") !== saved.state) return null;
  sessionStorage.removeItem(VERIFIER);
  const response = await fetch(`${config.domain}/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", client_id: config.clientId, code: params.get("code"),
      redirect_uri: config.redirectUri, code_verifier: saved.verifier,
    }),
  });
  history.replaceState(null, "", location.pathname);
  if (!response.ok) return null;
  const { id_token: token } = await response.json();
  const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  const groups = claims["cognito:groups"] || [];
  // The page shows one group's pages; the API decides by all of the user's groups anyway.
  const group = groups.includes("support") ? "support" : groups.includes("marketing") ? "marketing" : null;
  return group ? { token, group, expires: claims.exp } : null;
}
