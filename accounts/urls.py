"""The accounts' pages, included by config.urls."""

from django.urls import path

from . import views

urlpatterns = [
    path("admin/login/", views.admin_login),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.login_otp, name="login-otp"),
    path("account/", views.account, name="account"),
    path("account/two-factor/", views.two_factor, name="account-two-factor"),
    path("account/gender/", views.gender_declare, name="account-gender"),
    path("account/two-factor/disable/", views.two_factor_disable, name="account-two-factor-disable"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="account-token-revoke"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password-change"),
]
