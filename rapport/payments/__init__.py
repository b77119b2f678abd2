"""Payments through a provider's hosted pages, shaped like Stripe Checkout: create a
checkout (or setup) session, send the customer to its page, and read the provider's
signed `checkout.session.completed` webhook. Using Stripe is configuration; in dev the
web app serves a stand-in that speaks the same wire format. No card data ever here."""
