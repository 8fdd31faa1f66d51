from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model


class SignupForm(forms.Form):
    email = forms.EmailField()
    name = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, min_length=8)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(username=email).exists():
            raise forms.ValidationError("An account with this email exists: sign in instead.")
        return email

    def save(self):
        data = self.cleaned_data
        # The email is the username, so Django's own sign-in form works unchanged.
        return get_user_model().objects.create_user(username=data["email"], email=data["email"],
                                                    password=data["password"], first_name=data["name"])
