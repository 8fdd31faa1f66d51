"""loyalty-stripe: payments taken with Stripe earn points."""
