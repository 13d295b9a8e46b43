import factory
from django.contrib.auth import get_user_model

from cases import services
from cases.models import Forum, Membership, Region

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])


class ProvinceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Province {n}")
    code = factory.Sequence(lambda n: f"prov-{n}")
    kind = Region.Kind.PROVINCE


class DistrictFactory(ProvinceFactory):
    name = factory.Sequence(lambda n: f"District {n}")
    code = factory.Sequence(lambda n: f"dist-{n}")
    kind = Region.Kind.DISTRICT
    parent = factory.SubFactory(ProvinceFactory)


class ForumFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Forum

    name = factory.Sequence(lambda n: f"Forum {n}")
    kind = Forum.Kind.JIRGA
    region = factory.SubFactory(DistrictFactory)
    ladder = factory.LazyFunction(services.ladder_default)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    forum = factory.SubFactory(ForumFactory)
    role = Membership.Role.FACILITATOR
