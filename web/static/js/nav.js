// The header of a signed-in page: sign-out ends the session on the server, then shows sign-in.
import { api } from "./common.js";

const button = document.getElementById("sign-out");
if (button) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("/api/v1/auth/logout", { method: "POST" });
    } catch {
      // Signed out already, or the server is gone: either way the sign-in page is next.
    }
    window.location.assign("/login");
  });
}
