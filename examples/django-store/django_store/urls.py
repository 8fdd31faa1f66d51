from django.contrib.auth import views as auth_views
from django.urls import path

from django_store import views

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("login/", auth_views.LoginView.as_view(template_name="django_store/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("cart/", views.cart_page, name="cart"),
    path("cart/add/", views.add_to_cart, name="add-to-cart"),
    path("cart/reward/", views.apply_reward, name="apply-reward"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/<str:number>/", views.order_page, name="order"),
    path("orders/<str:number>/refunds/", views.refund, name="refund"),
    path("account/", views.account, name="account"),
]
