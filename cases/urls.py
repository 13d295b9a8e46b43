from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("cases/", views.case_list, name="case-list"),
    path("cases/new/", views.case_new, name="case-new"),
    path("cases/<int:case_id>/", views.case_detail, name="case-detail"),
    path("cases/<int:case_id>/transition/", views.case_transition, name="case-transition"),
    path("cases/<int:case_id>/agreement/", views.case_agreement, name="case-agreement"),
]
