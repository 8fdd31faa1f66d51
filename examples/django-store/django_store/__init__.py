"""Harbour Roasters: a small Django store that embeds loyalty-sdk's ``Loyalty`` facade."""
