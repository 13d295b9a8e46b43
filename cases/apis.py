"""The HTTP API of forums and authentication. Thin: validate, call a service or selector, serialise."""

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from config.errors import SulhError

from . import selectors, services
from .serializers import ForumSerializer, TokenRequestSerializer, TokenResponseSerializer


class InvalidCredentials(SulhError):
    status = 400
    code = "invalid_credentials"


class TokenObtainApi(APIView):
    """Exchange a username and password for an API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponseSerializer})
    def post(self, request):
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
    def post(self, request):
        services.token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ForumListApi(APIView):
    """The caller's forums, with each forum's escalation ladder."""

    @extend_schema(responses={200: ForumSerializer(many=True)})
    def get(self, request):
        forums = selectors.forum_list_for_user(user=request.user)
        roles = selectors.membership_roles_for_user(user=request.user)
        return Response(ForumSerializer(forums, many=True, context={"roles": roles}).data)
