"""The HTTP API of accounts: API tokens for username and password (and the one-time code of an account with
two-factor authentication), the caller's own tokens, and logging an API client out."""

from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import SulhError
from config.throttling import AnonThrottle

from . import services
from .authentication import enrolment_required_error
from .models import ApiToken


class TokenRequestSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150, trim_whitespace=False)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.RegexField(
        r"^\d{6}$",
        required=False,
        help_text="The six-digit code of the account's authenticator app; required once the account has enrolled "
        "in two-factor authentication (otherwise 400 `otp_required`; a wrong code is 400 `otp_invalid`).",
    )
    name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="A label for the token, shown in its list."
    )


class TokenResponseSerializer(serializers.Serializer[Any]):
    token = serializers.CharField()
    expires = serializers.DateTimeField()


class TokenSerializer(serializers.ModelSerializer[ApiToken]):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created", "expires", "last_used"]
        read_only_fields = fields


class InvalidCredentials(SulhError):
    status = 400
    code = "invalid_credentials"


class TokenObtainApi(APIView):
    """Exchange a username and password (and, for an account with two-factor authentication, its current code in
    `otp`) for an API token. The token expires (`expires`); its owner lists and revokes it under
    /api/auth/tokens/."""

    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenResponseSerializer,
            400: OpenApiResponse(description="`invalid`, `invalid_credentials`, `otp_required`, `otp_invalid`"),
            403: OpenApiResponse(description="`otp_enrolment_required`: the account's role needs two-factor first"),
            429: OpenApiResponse(description="`too_many_attempts`, `throttled`"),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # The plain HttpRequest goes to authenticate() so that django-axes can count the failure and
        # flag a lockout, which its middleware turns into a 429 (config.errors.lockout_response).
        user = authenticate(request=request._request, username=data["username"], password=data["password"])
        if user is None:
            raise InvalidCredentials(_("The username or password is not right."))
        if services.totp_device(user=user) is not None:
            if not data.get("otp"):
                raise services.OtpRequired(
                    _("This account uses two-factor authentication: send the current code in “otp”.")
                )
            services.totp_verify(user=user, code=data["otp"])
        elif services.two_factor_required(user=user):
            raise enrolment_required_error()
        issued = services.token_issue(user=user, name=data.get("name", ""))
        return Response({"token": issued.key, "expires": issued.token.expires})


class TokenListApi(generics.ListAPIView[ApiToken]):
    """The caller's tokens that still work, newest first (the key itself is never shown again: `prefix` is its
    beginning)."""

    serializer_class = TokenSerializer

    def get_queryset(self) -> Any:
        return services.tokens_of(user=self.request.user)  # type: ignore[arg-type]


class TokenDetailApi(APIView):
    """Revoke one of the caller's tokens: it stops working and the websockets opened with it close. Someone
    else's token, or an unknown one, is a 404."""

    @extend_schema(request=None, responses={204: None, 404: OpenApiResponse(description="`not_found`")})
    def delete(self, request: Request, token_id: int) -> Response:
        services.token_revoke_one(user=request.user, token_id=token_id)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenRevokeApi(APIView):
    """Log out an API client: the token it called with stops working and its open websockets close. Called with
    the browser's session instead, every token of the user is revoked."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        user = request.user
        assert user.is_authenticated  # IsAuthenticated, the API's default permission, let no one else in.
        token = request.auth if isinstance(request.auth, ApiToken) else None
        services.token_revoke(user=user, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)
