"""The account pages of the site: sign up (the email is verified with a one-time code
sent through the notifications outbox, or its link), sign in and out, forgot and reset
password (Django's signed token, which expires after PASSWORD_RESET_TIMEOUT and dies as
soon as the password changes), and change password.

Every form post counts against that form's own strict budget (per IP, or per user behind
a sign-in; sign-in also per account name), so the pages are no easier to guess passwords
or flood mailboxes through than the API, and a burst at one form leaves the others open.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from shelfwatch.accounts.models import User
from shelfwatch.accounts.page_throttle import sign_in_throttled, throttled
from shelfwatch.accounts.registration import register_user
from shelfwatch.accounts.throttling import client_ip, forget_login_account
from shelfwatch.alerts.verification import CodeExpired, CodeInvalid, TooManyCodes, check_code
from shelfwatch.alerts.verification import send_code as send_verification_code
from shelfwatch.errors import DomainError
from shelfwatch.http.hostnames import host_name_problem
from shelfwatch.notify.contacts import email_contact_of
from shelfwatch.notify.models import Contact, Notification, NotificationStatus
from shelfwatch.notify.outbox import enqueue

# How long a queued, unsent reset email stands for any new ask.
RESET_EMAIL_WAIT = timedelta(minutes=10)


def landing_url(user: User) -> str:
    """Where a sign-in without a `next` lands: staff of a store (and admins) on their
    store dashboards (one store opens directly), shoppers on the storefront."""
    if user.is_staff or user.memberships.exists():
        return reverse("stores")
    return reverse("home")


class SignInView(auth_views.LoginView):
    """Django's login, with the page's own template and staff sent to their stores."""

    template_name = "web/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        return landing_url(self.request.user)


class SignUpForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Your name"), max_length=150, required=False)
    email = forms.EmailField(label=gettext_lazy("Email"), max_length=254)
    password = forms.CharField(
        label=gettext_lazy("Password"), widget=forms.PasswordInput, max_length=256
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if host_name_problem(email.rpartition("@")[2]):
            raise forms.ValidationError(_("Enter a valid email address."), code="invalid")
        return email


def email_contact(user: User) -> Contact:
    """The user's email contact (their sign-in address), created unverified if missing."""
    language = (get_language() or "en").split("-")[0]
    return email_contact_of(user, verified=False, language=language)


def _send_code(request: HttpRequest, contact: Contact) -> bool:
    """Queue a verification code for `contact`; False (with a message) when too many were
    asked for in the last hour."""
    try:
        send_verification_code(contact=contact, ip=client_ip(request))
    except TooManyCodes:
        messages.error(request, _("We have sent several codes already. Try again in an hour."))
        return False
    return True


@throttled("register")
@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    """Create a shopper account, sign it in, and send a code to verify its email."""
    if request.user.is_authenticated:
        return redirect("account")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = register_user(
                email=form.cleaned_data["email"], password=form.cleaned_data["password"]
            )
        except DomainError as exc:
            if exc.code == "email_taken":
                form.add_error(
                    "email",
                    _("An account with this email already exists. Sign in, or reset the password."),
                )
            else:
                for error in exc.extra.get("errors", []):
                    form.add_error("password", error["message"])
        else:
            if form.cleaned_data["name"]:
                User.objects.filter(pk=user.pk).update(name=form.cleaned_data["name"])
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            _send_code(request, email_contact(user))
            return redirect("verify-email")
    return render(request, "web/account/sign_up.html", {"form": form})


@login_required
@throttled("verify_email", per="user")
@require_http_methods(["GET", "POST"])
def verify_email(request: HttpRequest) -> HttpResponse:
    """Enter the code the sign-up email carries (the email's link works as well), or ask
    for a new one."""
    contact = email_contact(request.user)
    if contact.is_verified:
        messages.success(request, _("Your email address is verified."))
        return redirect("account")
    problem = ""
    if request.method == "POST":
        if request.POST.get("action") == "resend":
            if _send_code(request, contact):
                messages.info(request, _("A new code is on its way."))
            return redirect("verify-email")
        try:
            check_code(contact=contact, code=request.POST.get("code", "")[:12])
        except CodeInvalid:
            problem = _("That code is not the one we sent. Check the email and try again.")
        except CodeExpired:
            problem = _("That code has expired or was tried too often. Ask for a new one.")
        else:
            messages.success(request, _("Thank you: your email address is verified."))
            return redirect("account")
    return render(
        request, "web/account/verify_email.html", {"contact": contact, "problem": problem}
    )


class OutboxResetForm(PasswordResetForm):
    """Django's reset form, with the link queued in the notifications outbox (retried,
    logged and paced like every other email) instead of sent from the request."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        user = context["user"]
        contact = email_contact(user)
        # A form sent twice, or asked again before the first email has gone out, makes no
        # second email: the queued link works as well.
        waiting = Notification.objects.filter(
            contact=contact,
            template="password_reset",
            status__in=(NotificationStatus.PENDING, NotificationStatus.SENDING),
            created_at__gte=timezone.now() - RESET_EMAIL_WAIT,
        )
        if waiting.exists():
            return
        path = reverse(
            "password-reset-confirm", kwargs={"uidb64": context["uid"], "token": context["token"]}
        )
        enqueue(
            contact=contact,
            template="password_reset",
            context={
                "url": f"{context['protocol']}://{context['domain']}{path}",
                "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
            },
            urgent=True,
            idempotency_key=f"password-reset:{uuid.uuid4().hex}",
        )


class ResetRequestView(auth_views.PasswordResetView):
    """Asks for the email and queues the reset link; says the same whether or not an
    account exists, so the page tells nobody who has one."""

    template_name = "web/account/reset_request.html"
    form_class = OutboxResetForm
    # Without the sites framework the link names the host and port the request came in
    # on, so it works whatever port `serve` was started on.
    success_url = reverse_lazy("password-reset-sent")


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset link page; a new password set through it also ends the account's
    sign-in lockout, so others' guesses cannot keep the owner of the mailbox out."""

    template_name = "web/account/reset_confirm.html"
    success_url = reverse_lazy("password-reset-done")

    def form_valid(self, form):
        response = super().form_valid(form)
        forget_login_account(self.user.email)
        return response


sign_in = sign_in_throttled(SignInView.as_view())
reset_request = throttled("password_reset")(ResetRequestView.as_view())
reset_sent = auth_views.PasswordResetDoneView.as_view(template_name="web/account/reset_sent.html")
reset_confirm = throttled("password_reset")(ResetConfirmView.as_view())
reset_done = auth_views.PasswordResetCompleteView.as_view(
    template_name="web/account/reset_done.html"
)
change_password = throttled("password_change", per="user")(
    auth_views.PasswordChangeView.as_view(
        template_name="web/account/change_password.html",
        success_url=reverse_lazy("password-changed"),
    )
)


@login_required
def password_changed(request: HttpRequest) -> HttpResponse:
    messages.success(request, _("Your password is changed."))
    return redirect("account")
