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
    window.location.assign(form.dataset.next || "/");
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
