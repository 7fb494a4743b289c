from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from allauth.account.signals import password_reset

        from apps.accounts.signals import verify_email_on_password_reset

        password_reset.connect(verify_email_on_password_reset, dispatch_uid="gaby-verify-email-on-password-reset")
