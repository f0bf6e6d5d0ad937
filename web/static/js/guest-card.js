/**
 * A guest's printable invitation card: "issue" asks the hub for a new personal link (the hub
 * keeps only its hash, so it is shown here this once, and the guest's earlier link stops
 * working), shows it with its QR code, and "print" prints the card alone.
 */

import { api, page } from "./common.js";

const issueButton = document.getElementById("card-issue");
const printButton = document.getElementById("card-print");
const errorBox = document.getElementById("card-error");
const card = document.getElementById("guest-card");

issueButton.addEventListener("click", async () => {
  issueButton.disabled = true;
  errorBox.hidden = true;
  try {
    const link = await api(`/api/v1/hearings/${page.hearing_id}/guests/${page.guest_id}/link`, {
      method: "POST",
    });
    document.getElementById("card-qr").src = link.qr_svg;
    document.getElementById("card-url").textContent = link.url;
    document.getElementById("card-qr-box").hidden = false;
    document.getElementById("card-no-link").hidden = true;
    card.dataset.linkState = link.guest.link_state;
    printButton.disabled = false;
  } catch (error) {
    errorBox.textContent = error.message ?? String(error);
    errorBox.hidden = false;
  } finally {
    issueButton.disabled = false;
  }
});

printButton.addEventListener("click", () => window.print());
