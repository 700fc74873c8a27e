// Signing in (with the authenticator code when the server asks), the password reset by
// e-mailed link, and the password change an account must make before anything else (the
// development administrator's one-time password: must_reset_password in /api/auth/me).

import { h, field } from "./dom.js";
import { post } from "./api.js";
import { session, signIn, changePassword } from "./session.js";
import { heading, errorSlot, busy, notify } from "./ui.js";

const passwordRules = "At least 12 characters (at most 72 bytes), not a common password, not containing your e-mail's name part.";

export function signInView(ctx) {
  const email = h("input", { type: "text", inputmode: "email", name: "email", autocomplete: "username", required: true, testid: "signin-email" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true, testid: "signin-password" });
  const totp = h("input", {
    type: "text", name: "totp", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: "6", testid: "signin-totp",
  });
  const totpField = field("Authenticator code", totp, "The 6-digit code your authenticator app shows now.");
  totpField.hidden = true;
  const submit = h("button", { type: "submit", testid: "signin-submit" }, "Sign in");
  const errors = errorSlot();
  const resetNotice = h("div", { class: "callout", testid: "reset-required-notice", tabindex: "-1", hidden: true });

  const form = h("form", { testid: "signin-form", class: "form narrow", novalidate: true }, field("E-mail", email), field("Password", password), totpField, errors, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    resetNotice.hidden = true;
    if (!email.value.trim() || !password.value) {
      errors.show({ message: "Enter your e-mail address and password." });
      return;
    }
    const useTotp = !totpField.hidden;
    if (useTotp && !/^[0-9]{6}$/.test(totp.value.trim())) {
      errors.show({ message: "Enter the 6-digit code from your authenticator app." });
      totp.focus();
      return;
    }
    submit.disabled = true;
    errors.clear();
    try {
      await signIn(email.value.trim(), password.value, useTotp ? totp.value.trim() : undefined);
      password.value = "";
      await ctx.app.signedIn();
    } catch (error) {
      if (error.code === "TOTP_REQUIRED") {
        totpField.hidden = false;
        totp.focus();
        errors.show({ message: "This account uses two-step sign-in: enter the code from your authenticator app." });
      } else if (error.code === "PASSWORD_RESET_REQUIRED") {
        showResetRequired(resetNotice, email.value.trim());
      } else {
        errors.show(error);
        if (useTotp) totp.value = "";
      }
    } finally {
      submit.disabled = false;
    }
  });

  return h("div", { class: "auth" },
    heading("Sign in to ZakOps"),
    form,
    resetNotice,
    h("p", null, h("a", { href: "#/forgot-password", testid: "forgot-password-link" }, "Forgot your password?")));
}

// A forced reset (by an administrator or the breach playbook) is ended by the mailed link only.
function showResetRequired(notice, email) {
  const errors = errorSlot();
  const again = h("button", { type: "button", testid: "reset-required-resend" }, "Mail me a new link");
  again.addEventListener("click", async () => {
    const done = await busy(again, errors, () => post("/api/auth/password/reset/request", { email }));
    if (done) notify("If the address has an account, a new link is on its way.");
  });
  notice.replaceChildren(
    h("h2", null, "A new password is required"),
    h("p", null, "An administrator requires a new password for this account. Open the link that was mailed to you and choose one; then sign in with it."),
    again, errors);
  notice.hidden = false;
  notice.focus();
}

export function forgotPasswordView() {
  const email = h("input", { type: "text", inputmode: "email", autocomplete: "username", required: true, testid: "reset-request-email" });
  const submit = h("button", { type: "submit", testid: "reset-request-submit" }, "Send the link");
  const errors = errorSlot();
  const done = h("p", { class: "callout", testid: "reset-request-done", hidden: true, role: "status" });
  const form = h("form", { class: "form narrow", testid: "reset-request-form", novalidate: true }, field("E-mail", email), errors, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!email.value.trim()) return errors.show({ message: "Enter your e-mail address." });
    const answer = await busy(submit, errors, () => post("/api/auth/password/reset/request", { email: email.value.trim() }));
    if (answer) {
      done.textContent = "If the address has an account, a link to choose a new password is on its way. It works once, for 30 minutes.";
      done.hidden = false;
    }
  });
  return h("div", { class: "auth" },
    heading("Reset your password"),
    h("p", null, "We mail you a link with which you choose a new password."),
    form, done,
    h("p", null, h("a", { href: "#/sign-in" }, "Back to sign-in")));
}

export function resetPasswordView(ctx) {
  const token = ctx.app.resetToken();
  if (!token) {
    return h("div", { class: "auth" },
      heading("Choose a new password"),
      h("p", null, "Open the link from your e-mail to choose a new password: it carries the one-time token this page needs."),
      h("p", null, h("a", { href: "#/forgot-password" }, "Ask for a new link"), " · ", h("a", { href: "#/sign-in" }, "Sign in")));
  }
  const fresh = h("input", { type: "password", autocomplete: "new-password", required: true, testid: "reset-confirm-password" });
  const repeat = h("input", { type: "password", autocomplete: "new-password", required: true, testid: "reset-confirm-password-repeat" });
  const submit = h("button", { type: "submit", testid: "reset-confirm-submit" }, "Set the password");
  const errors = errorSlot();
  const form = h("form", { class: "form narrow", testid: "reset-confirm-form", novalidate: true },
    field("New password", fresh, passwordRules), field("New password again", repeat), errors, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const problem = checkNewPassword(fresh.value, repeat.value);
    if (problem) return errors.show({ message: problem });
    const ok = await busy(submit, errors, async () => {
      await post("/api/auth/password/reset/confirm", { token, new_password: fresh.value }, { quiet: true });
      return true;
    });
    if (ok) {
      ctx.app.clearResetToken();
      form.replaceWith(h("p", { class: "callout", role: "status", testid: "reset-confirm-done" },
        "Your password is set and every session of the account has ended. ", h("a", { href: "#/sign-in" }, "Sign in"), " with the new password."));
    }
  });
  return h("div", { class: "auth" }, heading("Choose a new password"), form);
}

/** The password-change form, for the forced change and the account page alike. */
export function passwordChangeForm(onChanged) {
  const current = h("input", { type: "password", autocomplete: "current-password", required: true, testid: "password-change-current" });
  const fresh = h("input", { type: "password", autocomplete: "new-password", required: true, testid: "password-change-new" });
  const repeat = h("input", { type: "password", autocomplete: "new-password", required: true, testid: "password-change-repeat" });
  const submit = h("button", { type: "submit", testid: "password-change-submit" }, "Change the password");
  const errors = errorSlot();
  const form = h("form", { class: "form narrow", testid: "password-change-form", novalidate: true },
    username(),
    field("Current password", current), field("New password", fresh, passwordRules), field("New password again", repeat), errors, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!current.value) return errors.show({ message: "Enter your current password." });
    const problem = checkNewPassword(fresh.value, repeat.value);
    if (problem) return errors.show({ message: problem });
    const principal = await busy(submit, errors, () => changePassword(current.value, fresh.value));
    if (principal) {
      form.reset();
      onChanged(principal);
    }
  });
  return form;
}

/** The account's name, hidden, so password managers know whose password changes. */
export function username() {
  const principal = session.principal;
  return h("input", { type: "text", autocomplete: "username", hidden: true, readonly: true, tabindex: "-1", "aria-hidden": "true", value: principal ? principal.email || principal.name : "" });
}

function checkNewPassword(fresh, repeat) {
  if (fresh.length < 12) return "The new password needs at least 12 characters.";
  if (new TextEncoder().encode(fresh).length > 72) return "The new password may have at most 72 bytes.";
  if (fresh !== repeat) return "The two new passwords differ.";
  return null;
}

export function changePasswordView(ctx) {
  const principal = session.principal;
  return h("div", { class: "auth" },
    heading("Choose your own password"),
    h("p", null, `${principal.email || principal.name} signs in with a password that was issued once (such as the development administrator's, printed at the server's first start). Choose your own before anything else.`),
    passwordChangeForm(() => {
      notify("Your password is changed. Your other sessions were signed out.");
      ctx.app.signedIn();
    }));
}
