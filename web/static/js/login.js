// Sign-in form: posts JSON to the API, which sets the HttpOnly session cookie, then moves on.
import { t } from "./common.js";

const form = document.getElementById("login-form");
const errorBox = document.getElementById("login-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  const data = new FormData(form);
  let response;
  try {
    response = await fetch("/api/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: data.get("username"), password: data.get("password") }),
    });
  } catch {
    errorBox.textContent = t("common.network_error");
    errorBox.hidden = false;
    return;
  }
  if (response.ok) {
    // The hub only ever hands a local path here (safe_next); checking the origin again keeps a
    // sign-in from being sent to another site should that ever change.
    const next = new URL(form.dataset.next || "/", window.location.origin);
    const local = next.origin === window.location.origin;
    window.location.assign(local ? `${next.pathname}${next.search}${next.hash}` : "/");
    return;
  }
  const body = await response.json().catch(() => ({}));
  const message = body?.error?.message || `HTTP ${response.status}`;
  errorBox.textContent =
    response.status === 401 ? t("login.bad") :
    response.status === 429 ? t("login.limited") :
    message;
  errorBox.hidden = false;
});
