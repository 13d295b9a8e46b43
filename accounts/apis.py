"""The HTTP API of accounts: API tokens for username and password, and logging an API client out."""

from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import SulhError
from config.throttling import AnonThrottle

from . import services


class TokenRequestSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150, trim_whitespace=False)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenResponseSerializer(serializers.Serializer[Any]):
    token = serializers.CharField()


class InvalidCredentials(SulhError):
    status = 400
    code = "invalid_credentials"


class TokenObtainApi(APIView):
    """Exchange a username and password for an API token."""

    authentication_classes: list[type[BaseAuthentication]] = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonThrottle]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponseSerializer})
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The plain HttpRequest goes to authenticate() so that django-axes can count the failure and
        # flag a lockout, which its middleware turns into a 429 (config.errors.lockout_response).
        user = authenticate(request=request._request, **serializer.validated_data)
        if user is None:
            raise InvalidCredentials(_("The username or password is not right."))
        token = services.token_issue(user=user)
        return Response({"token": token.key})


class TokenRevokeApi(APIView):
    """Log out an API client: the token stops working and its open websockets close."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        user = request.user
        assert user.is_authenticated  # IsAuthenticated, the API's default permission, let no one else in.
        services.token_revoke(user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
