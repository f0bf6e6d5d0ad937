// Sign-in form: posts JSON to the API, which sets the HttpOnly session cookie, then moves on.
const form = document.getElementById("login-form");
const errorBox = document.getElementById("login-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  const data = new FormData(form);
  const response = await fetch("/api/v1/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: data.get("username"), password: data.get("password") }),
  });
  if (response.ok) {
    window.location.assign(form.dataset.next || "/");
    return;
  }
  const body = await response.json().catch(() => ({}));
  const message = body?.error?.message || `HTTP ${response.status}`;
  errorBox.textContent =
    response.status === 401 ? "Sai tên đăng nhập hoặc mật khẩu." :
    response.status === 429 ? "Đăng nhập sai quá nhiều lần, vui lòng thử lại sau một phút." :
    message;
  errorBox.hidden = false;
});
